"""Create Airflow (FAB) users from JSON on stdin: ``python -m imdb_ui.users < users.json``.

``[{"username": ..., "password": ..., "role": "Admin"}, ...]``. Passwords travel on stdin, never
on a command line that ``ps`` shows. Users are created through the configured security manager
(``[fab] config_file``), so ``ImdbSecurityManager.add_user`` gives a user that
``dag_permissions.json`` lists exactly its DAGs at once.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder


def create_users(users: list[dict[str, str]]) -> None:
    with get_application_builder() as appbuilder:
        sm: Any = appbuilder.sm
        for user in users:
            role = sm.find_role(user["role"])
            if role is None:
                raise SystemExit(f"imdb_ui.users: {user['username']}: no role {user['role']!r}")
            created = sm.add_user(
                user["username"],
                user["username"],
                "imdb-pipeline",
                f"{user['username']}@example.invalid",
                role,
                password=user["password"],
            )
            if not created:
                raise SystemExit(f"imdb_ui.users: {user['username']}: could not be created")


if __name__ == "__main__":
    create_users(json.load(sys.stdin))
