"""Per-user DAG access for Airflow 3's FAB auth manager, driven by ``dag_permissions.json``.

``webserver_config.py`` sets ``SECURITY_MANAGER_CLASS = ImdbSecurityManager``. The names from
``imdb_security.manager`` are imported on first use, so ``imdb_security.permissions_file``
alone (the parser) imports nothing from Airflow.
"""

from __future__ import annotations

import importlib
from typing import Any

from imdb_security.permissions_file import DagPermissions, DagPermissionsError

_FROM_MANAGER = ("BASE_ROLE", "ImdbSecurityManager", "permissions_file_path", "user_role_name")

__all__ = [
    "BASE_ROLE",
    "DagPermissions",
    "DagPermissionsError",
    "ImdbSecurityManager",
    "permissions_file_path",
    "user_role_name",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_MANAGER:
        return getattr(importlib.import_module("imdb_security.manager"), name)
    raise AttributeError(f"module 'imdb_security' has no attribute {name!r}")
