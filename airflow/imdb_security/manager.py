"""The security manager: per-user DAG access from ``dag_permissions.json`` (FAB auth manager).

How it fits Airflow 3.3 / apache-airflow-providers-fab 3.10 (read from the installed source;
see airflow/README.md for the details):

* DAG permissions are synced by the DAG processor, with ``ApplessAirflowSecurityManager`` (not
  this class), calling ``sync_perm_for_dag(dag_id, dag.access_control)``. When a DAG sets
  ``access_control`` it *revokes* every non-Admin role's permission on that DAG that its
  ``access_control`` does not list, and a role it names that does not exist yet makes the DAG an
  import error. Our DAGs therefore leave ``access_control`` unset, and the grants live in roles
  this manager owns.
* Roles are synced where FAB syncs roles: ``sync_roles()``, run when the API server starts
  (``[fab] update_fab_perms``) and by ``airflow sync-perm``. That is when the file is applied.

Each listed user gets two roles: ``dag-access-base`` (the Viewer role minus global DAG access:
log in, menus, own profile) and ``dags:<user>`` holding exactly the per-DAG permissions the file
lists. Roles that would give the user any other DAG (Viewer, User, Op, ...) are taken away.
Admins are never changed. Users and roles that leave the file lose their ``dags:`` role.
A listed user created later (UI, ``airflow users create``) gets its roles when it is created.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from airflow.models.dag import DagModel
from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from airflow.providers.fab.www.security import permissions as perms
from flask import current_app
from sqlalchemy import select

from imdb_security.permissions_file import DagPermissions, DagPermissionsError, load

log = logging.getLogger(__name__)

BASE_ROLE = "dag-access-base"
USER_ROLE_PREFIX = "dags:"
ADMIN_ROLE = "Admin"
PERMISSIONS_FILE_ENV = "IMDB_DAG_PERMISSIONS_FILE"
PERMISSIONS_FILE_CONFIG = "DAG_PERMISSIONS_FILE"

_DAG = perms.RESOURCE_DAG_PREFIX  # "DAG:<dag_id>"
_RUN = perms.RESOURCE_DETAILS_MAP[perms.RESOURCE_DAG_RUN]["prefix"]  # "DAG Run:<dag_id>"

# File action -> (FAB action, resource prefix) pairs. Creating a run needs DAG-level edit as
# well as "DAG Run" create in Airflow 3 (is_authorized_dag checks PUT on the DAG for any
# non-GET on a sub-entity), so "trigger" carries can_edit on the DAG.
GRANTS: dict[str, tuple[tuple[str, str], ...]] = {
    "read": ((perms.ACTION_CAN_READ, _DAG), (perms.ACTION_CAN_READ, _RUN)),
    "edit": ((perms.ACTION_CAN_EDIT, _DAG),),
    "trigger": ((perms.ACTION_CAN_EDIT, _DAG), (perms.ACTION_CAN_CREATE, _RUN)),
    "delete": ((perms.ACTION_CAN_DELETE, _DAG), (perms.ACTION_CAN_DELETE, _RUN)),
}
_DAG_ACTIONS = {perms.ACTION_CAN_READ, perms.ACTION_CAN_EDIT, perms.ACTION_CAN_DELETE, perms.ACTION_CAN_CREATE}


def user_role_name(user: str) -> str:
    return f"{USER_ROLE_PREFIX}{user}"[:64]  # ab_role.name is 64 characters


def permissions_file_path(config: Any = None) -> Path:
    """``IMDB_DAG_PERMISSIONS_FILE``, else ``DAG_PERMISSIONS_FILE`` in webserver_config.py, else
    ``$AIRFLOW_HOME/dag_permissions.json``."""
    from_env = os.environ.get(PERMISSIONS_FILE_ENV, "").strip()
    if from_env:
        return Path(from_env)
    from_config = (config or {}).get(PERMISSIONS_FILE_CONFIG)
    if from_config:
        return Path(from_config)
    home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(home) / "dag_permissions.json"


def grants_global_or_other_dag_access(role: Any) -> bool:
    """True if ``role`` opens any DAG by itself: global DAG permissions or per-DAG ones."""
    for permission in role.permissions:
        if permission.action is None or permission.resource is None:
            continue
        resource, action = permission.resource.name, permission.action.name
        if resource == perms.RESOURCE_DAG and action in _DAG_ACTIONS:
            return True
        if resource.startswith((_DAG, _RUN)) and action in _DAG_ACTIONS:
            return True
    return False


class ImdbSecurityManager(FabAirflowSecurityManagerOverride):
    """FAB security manager that applies ``dag_permissions.json`` whenever FAB syncs roles."""

    def __init__(self, appbuilder: Any) -> None:
        super().__init__(appbuilder)
        self.permissions_path = permissions_file_path(current_app.config)
        # Parse at startup: a broken file stops the API server with a message naming the file
        # and the line/column, instead of silently serving the wrong access.
        self.dag_permissions = self.read_permissions_file()

    def read_permissions_file(self) -> DagPermissions | None:
        if not self.permissions_path.exists():
            log.warning(
                "%s does not exist; per-user DAG access is not managed (set %s or %s)",
                self.permissions_path,
                PERMISSIONS_FILE_ENV,
                PERMISSIONS_FILE_CONFIG,
            )
            return None
        return load(self.permissions_path)

    def sync_roles(self) -> None:
        super().sync_roles()
        self.sync_dag_permissions()

    def add_user(self, username: str, *args: Any, **kwargs: Any) -> Any:
        """Create a user; a user the file lists gets exactly its DAGs at once, not at the next sync."""
        user = super().add_user(username, *args, **kwargs)
        config = self.dag_permissions
        if user and config is not None and username in config.users:
            self.sync_dag_permissions(reload=False)
        return user

    def sync_dag_permissions(self, reload: bool = True) -> None:
        """Make roles and user assignments match the file (re-read unless ``reload`` is False)."""
        if reload:
            self.dag_permissions = self.read_permissions_file()
        config = self.dag_permissions
        if config is None:
            return
        base = self._sync_base_role()
        self._warn_unknown_dags(config)
        wanted_roles = set()
        for user_name, dags in config.users.items():
            role = self._sync_user_role(user_name, dags)
            wanted_roles.add(role.name)
            self._assign(user_name, base, role)
        self._drop_stale_user_roles(wanted_roles)
        self.session.commit()
        # The auth manager caches each token's user (and its permissions) for [fab] cache_ttl
        # seconds; drop this process's cache so a re-sync takes effect at once here. Other API
        # server processes pick the change up when their cache entries expire.
        FabAuthManager.cache.clear()
        log.info("Applied %s: %d user(s)", config.source, len(config.users))

    def _sync_base_role(self) -> Any:
        role = self.find_role(BASE_ROLE) or self.add_role(BASE_ROLE)
        wanted = [
            (action, resource)
            for action, resource in self.VIEWER_PERMISSIONS
            if not (resource == perms.RESOURCE_DAG and action in _DAG_ACTIONS)
        ]
        self._set_role_permissions(role, wanted)
        return role

    def _sync_user_role(self, user_name: str, dags: Any) -> Any:
        name = user_role_name(user_name)
        role = self.find_role(name) or self.add_role(name)
        wanted = sorted(
            {
                (fab_action, f"{prefix}{dag_id}")
                for dag_id, actions in dags.items()
                for action in actions
                for fab_action, prefix in GRANTS[action]
            }
        )
        self._set_role_permissions(role, wanted)
        return role

    def _set_role_permissions(self, role: Any, wanted: list[tuple[str, str]]) -> None:
        permissions = [self.create_permission(action, resource) for action, resource in wanted]
        role.permissions = [p for p in permissions if p is not None]
        self.session.merge(role)

    def _assign(self, user_name: str, base: Any, own: Any) -> None:
        user = self.find_user(username=user_name)
        if user is None:
            log.warning(
                "dag_permissions: user %r is not registered; role %s is ready for when it is",
                user_name,
                own.name,
            )
            return
        if any(r.name == ADMIN_ROLE for r in user.roles):
            log.warning("dag_permissions: %r is an Admin; Admins are left untouched", user_name)
            return
        kept = [
            r
            for r in user.roles
            if not r.name.startswith(USER_ROLE_PREFIX)
            and r.name != BASE_ROLE
            and not grants_global_or_other_dag_access(r)
        ]
        dropped = sorted({r.name for r in user.roles} - {r.name for r in kept} - {BASE_ROLE, own.name})
        if dropped:
            log.info("dag_permissions: removing role(s) %s from %r", ", ".join(dropped), user_name)
        user.roles = [*kept, base, own]
        self.session.merge(user)
        for group in getattr(user, "groups", None) or []:
            if any(grants_global_or_other_dag_access(r) for r in group.roles):
                log.warning(
                    "dag_permissions: %r is in group %r, whose roles open other DAGs; remove the user "
                    "from it for the file to be the whole truth",
                    user_name,
                    group.name,
                )

    def _drop_stale_user_roles(self, wanted_roles: set[str]) -> None:
        for role in self.get_all_roles():
            if role.name.startswith(USER_ROLE_PREFIX) and role.name not in wanted_roles:
                log.info("dag_permissions: deleting role %s (user no longer listed)", role.name)
                for user in list(role.user):
                    user.roles = [r for r in user.roles if r.name != role.name]
                role.permissions = []
                self.session.delete(role)

    def _warn_unknown_dags(self, config: DagPermissions) -> None:
        known = set(self.session.scalars(select(DagModel.dag_id)))
        if not known:
            log.info("dag_permissions: no DAG parsed yet; DAG ids in %s are not checked", config.source)
            return
        for dag_id in sorted(config.dag_ids - known):
            log.warning("dag_permissions: unknown DAG id %r in %s (granted anyway)", dag_id, config.source)


__all__ = ["BASE_ROLE", "DagPermissionsError", "ImdbSecurityManager", "permissions_file_path", "user_role_name"]
