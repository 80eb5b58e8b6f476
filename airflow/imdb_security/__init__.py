"""Per-user DAG access for Airflow 3's FAB auth manager, driven by ``dag_permissions.json``.

``webserver_config.py`` sets ``SECURITY_MANAGER_CLASS = ImdbSecurityManager``. Importing this
package imports Airflow's FAB provider; ``imdb_security.permissions_file`` alone does not.
"""

from __future__ import annotations

from imdb_security.manager import BASE_ROLE, ImdbSecurityManager, permissions_file_path, user_role_name
from imdb_security.permissions_file import DagPermissions, DagPermissionsError

__all__ = [
    "BASE_ROLE",
    "DagPermissions",
    "DagPermissionsError",
    "ImdbSecurityManager",
    "permissions_file_path",
    "user_role_name",
]
