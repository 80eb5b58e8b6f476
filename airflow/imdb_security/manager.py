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
Admins are never changed. Users and roles that leave the file lose their ``dags:`` role. With
``"unlisted": "no_dags"`` (version 2's default) a user the file does not list loses the roles
that open DAGs too, and keeps ``dag-access-base``: an empty DAG list, not an error page.
A listed user created later (UI, ``airflow users create``) gets its roles when it is created.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from airflow.models.dag import DagModel
from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from airflow.providers.fab.www.security import permissions as perms
from flask import current_app
from sqlalchemy import select

from imdb_security.permissions_file import (
    Action,
    DagPermissions,
    DagPermissionsError,
    ExitCode,
    Unlisted,
    load,
)

log = logging.getLogger(__name__)

BASE_ROLE = "dag-access-base"
USER_ROLE_PREFIX = "dags:"
ADMIN_ROLE = "Admin"
PERMISSIONS_FILE_ENV = "IMDB_DAG_PERMISSIONS_FILE"
PERMISSIONS_FILE_CONFIG = "DAG_PERMISSIONS_FILE"

_DAG = perms.RESOURCE_DAG_PREFIX  # "DAG:<dag_id>"
_RUN = perms.RESOURCE_DETAILS_MAP[perms.RESOURCE_DAG_RUN]["prefix"]  # "DAG Run:<dag_id>"

# The auth manager lets a user list DAGs only if they can read at least one "DAG:<id>"; with
# none, the DAG list is a red "403 Forbidden". The base role therefore reads this one, which
# no DAG can be (a DAG id has no spaces): a user without DAGs sees an empty list instead.
NO_DAG_RESOURCE = f"{_DAG}~ no DAG granted ~"

# File action -> (FAB action, resource) pairs; "{dag_id}" is filled in per DAG, a name without
# it is a resource of every DAG, which the auth manager only opens together with DAG-level
# edit on the DAG in question (is_authorized_dag, "scenario 3").
# * trigger: creating a run needs DAG-level edit as well as "DAG Run" create in Airflow 3.
# * retry: clearing task instances, marking them (and runs) failed or succeeded is PUT on the
#   task-instance entity: edit on the global "DAG Runs" and "Task Instances" plus DAG-level edit.
GRANTS: dict[Action, tuple[tuple[str, str], ...]] = {
    Action.READ: ((perms.ACTION_CAN_READ, _DAG + "{dag_id}"), (perms.ACTION_CAN_READ, _RUN + "{dag_id}")),
    Action.EDIT: ((perms.ACTION_CAN_EDIT, _DAG + "{dag_id}"),),
    Action.TRIGGER: ((perms.ACTION_CAN_EDIT, _DAG + "{dag_id}"), (perms.ACTION_CAN_CREATE, _RUN + "{dag_id}")),
    Action.RETRY: (
        (perms.ACTION_CAN_EDIT, _DAG + "{dag_id}"),
        (perms.ACTION_CAN_EDIT, perms.RESOURCE_DAG_RUN),
        (perms.ACTION_CAN_EDIT, perms.RESOURCE_TASK_INSTANCE),
    ),
    Action.DELETE: ((perms.ACTION_CAN_DELETE, _DAG + "{dag_id}"), (perms.ACTION_CAN_DELETE, _RUN + "{dag_id}")),
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
        if resource.startswith((_DAG, _RUN)) and resource != NO_DAG_RESOURCE and action in _DAG_ACTIONS:
            return True
    return False


def _managed_or_opens_dags(role: Any) -> bool:
    managed = role.name.startswith(USER_ROLE_PREFIX) or role.name == BASE_ROLE
    return bool(managed or grants_global_or_other_dag_access(role))


def fail(error: DagPermissionsError) -> None:
    """End the process with the one line that says what is wrong (no traceback), exit 78."""
    print(f"dag_permissions: {error}", file=sys.stderr, flush=True)
    raise SystemExit(ExitCode.BAD_PERMISSIONS_FILE)


class ImdbSecurityManager(FabAirflowSecurityManagerOverride):
    """FAB security manager that applies ``dag_permissions.json`` whenever FAB syncs roles."""

    def __init__(self, appbuilder: Any) -> None:
        super().__init__(appbuilder)  # type: ignore[no-untyped-call]
        self._warned: set[str] = set()
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
        try:
            return load(self.permissions_path)
        except DagPermissionsError as error:
            fail(error)
            raise  # not reached: fail() exits

    def sync_roles(self) -> None:
        super().sync_roles()
        self.sync_dag_permissions()

    def _warn_once(self, message: str, *args: Any) -> None:
        """A warning about the file, once per process: ``airflow sync-perm`` syncs twice (the app
        start and the command itself), and the same advice twice is noise."""
        text = message % args
        if text not in self._warned:
            self._warned.add(text)
            log.warning("%s", text)

    def add_user(self, username: str, *args: Any, **kwargs: Any) -> Any:
        """Create a user; the file then applies to it at once (its DAGs, or none), not at the next sync."""
        user = super().add_user(username, *args, **kwargs)
        config = self.dag_permissions
        if user and config is not None and (username in config.users or config.unlisted is Unlisted.NO_DAGS):
            self.sync_dag_permissions(reload=False)
        return user

    def sync_dag_permissions(self, reload: bool = True) -> None:
        """Make roles and user assignments match the file (re-read unless ``reload`` is False).

        One INFO line when the sync changed something, naming what; a sync that finds
        everything as the file says logs nothing above DEBUG.
        """
        if reload:
            self.dag_permissions = self.read_permissions_file()
        config = self.dag_permissions
        if config is None:
            return
        changes: list[str] = []
        base = self._sync_base_role(changes)
        self._warn_unknown_dags(config)
        wanted_roles = set()
        for user_name, dags in config.users.items():
            role = self._sync_user_role(user_name, dags, changes)
            wanted_roles.add(role.name)
            self._assign(user_name, base, role, changes)
        self._drop_stale_user_roles(wanted_roles, changes)
        if config.unlisted is Unlisted.NO_DAGS:
            self._close_unlisted(config, base, changes)
        self.session.commit()
        # The auth manager caches each token's user (and its permissions) for [fab] cache_ttl
        # seconds; drop this process's cache so a re-sync takes effect at once here. Other API
        # server processes pick the change up when their cache entries expire.
        FabAuthManager.cache.clear()
        if changes:
            log.info("dag_permissions: applied %s: %s", config.source, "; ".join(changes))
        else:
            log.debug("dag_permissions: %s already applied", config.source)

    def _sync_base_role(self, changes: list[str]) -> Any:
        role = self.find_role(BASE_ROLE) or self.add_role(BASE_ROLE)
        wanted = [
            (action, resource)
            for action, resource in self.VIEWER_PERMISSIONS
            if not (resource == perms.RESOURCE_DAG and action in _DAG_ACTIONS)
        ]
        wanted.append((perms.ACTION_CAN_READ, NO_DAG_RESOURCE))
        if self._set_role_permissions(role, wanted):
            changes.append(f"role {BASE_ROLE} updated")
        return role

    def _sync_user_role(self, user_name: str, dags: Any, changes: list[str]) -> Any:
        name = user_role_name(user_name)
        role = self.find_role(name) or self.add_role(name)
        # FAB's sync_roles gives every custom role Website read (add_homepage_access_to_custom_roles);
        # keeping it here makes a sync that finds nothing to do change nothing, and log nothing.
        wanted = sorted(
            {
                (fab_action, resource.format(dag_id=dag_id))
                for dag_id, actions in dags.items()
                for action in actions
                for fab_action, resource in GRANTS[Action(action)]
            }
            | {(perms.ACTION_CAN_READ, perms.RESOURCE_WEBSITE)}
        )
        if self._set_role_permissions(role, wanted):
            changes.append(f"role {name} set to {len(dags)} DAG(s)")
        return role

    def _set_role_permissions(self, role: Any, wanted: list[tuple[str, str]]) -> bool:
        """Give ``role`` exactly ``wanted``; True if that changed it."""
        before = {(p.action.name, p.resource.name) for p in role.permissions if p.action and p.resource}
        if before == set(wanted):
            return False
        permissions = [self.create_permission(action, resource) for action, resource in wanted]
        role.permissions = [p for p in permissions if p is not None]
        self.session.merge(role)
        return True

    def _assign(self, user_name: str, base: Any, own: Any, changes: list[str]) -> None:
        user = self.find_user(username=user_name)
        if user is None:
            self._warn_once(
                "dag_permissions: user %r is not registered; role %s is ready for when it is",
                user_name,
                own.name,
            )
            return
        if any(r.name == ADMIN_ROLE for r in user.roles):
            self._warn_once("dag_permissions: %r is an Admin; Admins are left untouched", user_name)
            return
        self._set_user_roles(user, [base, own], changes)
        for group in getattr(user, "groups", None) or []:
            if any(grants_global_or_other_dag_access(r) for r in group.roles):
                self._warn_once(
                    "dag_permissions: %r is in group %r, whose roles open other DAGs; remove the user "
                    "from it for the file to be the whole truth",
                    user_name,
                    group.name,
                )

    def _set_user_roles(self, user: Any, managed: list[Any], changes: list[str]) -> None:
        """Keep the user's roles that open no DAG, replace the rest with ``managed``."""
        kept = [r for r in user.roles if not _managed_or_opens_dags(r)]
        new = [*kept, *managed]
        if {r.name for r in new} == {r.name for r in user.roles}:
            return
        dropped = sorted({r.name for r in user.roles} - {r.name for r in new})
        added = sorted({r.name for r in new} - {r.name for r in user.roles})
        changes.append(
            f"{user.username}: " + ", ".join([*(f"-{name}" for name in dropped), *(f"+{name}" for name in added)])
        )
        user.roles = new
        self.session.merge(user)

    def _close_unlisted(self, config: DagPermissions, base: Any, changes: list[str]) -> None:
        """``"unlisted": "no_dags"``: a user the file does not list keeps no role that opens a DAG."""
        for user in self.get_all_users():
            if user.username in config.users or any(r.name == ADMIN_ROLE for r in user.roles):
                continue
            if any(grants_global_or_other_dag_access(r) for r in user.roles):
                self._set_user_roles(user, [base], changes)

    def _drop_stale_user_roles(self, wanted_roles: set[str], changes: list[str]) -> None:
        for role in self.get_all_roles():
            if role.name.startswith(USER_ROLE_PREFIX) and role.name not in wanted_roles:
                changes.append(f"role {role.name} deleted (user no longer listed)")
                for user in list(role.user):
                    user.roles = [r for r in user.roles if r.name != role.name]
                role.permissions = []
                self.session.delete(role)

    def _warn_unknown_dags(self, config: DagPermissions) -> None:
        known = set(self.session.scalars(select(DagModel.dag_id)))
        if not known:
            return  # nothing parsed yet (a fresh install): nothing to compare with
        for dag_id in sorted(config.dag_ids - known):
            self._warn_once("dag_permissions: unknown DAG id %r in %s (granted anyway)", dag_id, config.source)


__all__ = ["BASE_ROLE", "DagPermissionsError", "ImdbSecurityManager", "permissions_file_path", "user_role_name"]
