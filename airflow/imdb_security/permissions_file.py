"""``dag_permissions.json``: which user may see (and edit, trigger, delete) which DAGs.

Two forms, both accepted forever:

Version 1, the original Docker Compose pipeline's form (no ``version`` key): every listed DAG is read-only::

    {"alice": ["imdb_download_and_load_dag"], "bob": []}

Version 2 adds per-DAG actions. A user's value is either a list (read-only, as in version 1)
or an object with ``dags``, itself a list (read-only) or an object of DAG id -> actions::

    {
      "version": 2,
      "users": {
        "alice": {"dags": {"imdb_download_and_load_dag": ["read", "edit", "trigger"]}},
        "bob": ["imdb_download_and_load_dag"]
      }
    }

``read`` is always granted for a listed DAG; ``edit``, ``trigger``, ``retry`` and ``delete``
only when listed. Version 2 also says what happens to users the file does not list
(``"unlisted"``): ``"no_dags"`` (the default) takes every DAG from them, ``"untouched"`` leaves
their roles as they are, which is what version 1 always does.

Unknown keys, versions and actions are errors (a typo must not silently grant or deny access),
each one line naming the file, the user and the problem; unknown users and DAG ids are checked
later, against the database, and only warned about. This module imports nothing from Airflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any


class Action(StrEnum):
    """What a user may do with a listed DAG (the file's words)."""

    READ = "read"
    EDIT = "edit"
    TRIGGER = "trigger"
    RETRY = "retry"
    DELETE = "delete"


class Unlisted(StrEnum):
    """What a sync does to a user the file does not list (version 2's ``"unlisted"``)."""

    NO_DAGS = "no_dags"
    UNTOUCHED = "untouched"


class ExitCode(IntEnum):
    """How ``airflow sync-perm`` and the API server end when the file is unusable."""

    BAD_PERMISSIONS_FILE = 78  # EX_CONFIG of sysexits.h


ACTIONS = tuple(Action)
SUPPORTED_VERSIONS = (1, 2)
LATEST_VERSION = 2
DEFAULT_UNLISTED = {1: Unlisted.UNTOUCHED, 2: Unlisted.NO_DAGS}
VERSION_HINT = 'the object form needs "version": 2 at the top level'


class DagPermissionsError(ValueError):
    """The permissions file is unreadable or invalid; the one-line message names the file and the place."""


@dataclass(frozen=True)
class DagPermissions:
    version: int
    users: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    """user name -> DAG id -> actions (always including ``read``)."""
    source: str = "<memory>"
    unlisted: Unlisted = Unlisted.UNTOUCHED

    def dags_for(self, user: str) -> Mapping[str, frozenset[str]]:
        return self.users.get(user, {})

    @property
    def dag_ids(self) -> set[str]:
        return {dag_id for dags in self.users.values() for dag_id in dags}


def load(path: str | Path) -> DagPermissions:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DagPermissionsError(f"{path}: cannot read the DAG permissions file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DagPermissionsError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse(text, source=str(path))


def parse(text: str, source: str = "<memory>") -> DagPermissions:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DagPermissionsError(f"{source}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise DagPermissionsError(f"{source}: the top level must be a JSON object, not {_kind(data)}")
    if "version" in data and not isinstance(data["version"], list):
        return _parse_versioned(data, source)
    return DagPermissions(version=1, users=_parse_users_v1(data, source), source=source)


def _parse_versioned(data: dict[str, Any], source: str) -> DagPermissions:
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        raise DagPermissionsError(
            f'{source}: unsupported "version": {json.dumps(version)}; '
            f"supported: {', '.join(map(str, SUPPORTED_VERSIONS))}"
        )
    allowed = {"version", "users"} | ({"unlisted"} if version >= 2 else set())
    _no_unknown_keys(data, allowed, source, "the top level", hint=' ("unlisted" needs "version": 2)')
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise DagPermissionsError(f'{source}: "users" must be an object, not {_kind(users)}')
    if version == 1:
        return DagPermissions(version=1, users=_parse_users_v1(users, source), source=source)
    parsed = {}
    for user, spec in users.items():
        _check_name(user, source, "user name")
        where = f"user {user}"
        if isinstance(spec, list):
            parsed[user] = _read_only(spec, source, where)
        elif isinstance(spec, dict):
            _no_unknown_keys(spec, {"dags"}, source, where)
            parsed[user] = _parse_dags(spec.get("dags", {}), source, where)
        else:
            raise DagPermissionsError(f"{source}: {where}: must be a list of DAG ids or an object, not {_kind(spec)}")
    return DagPermissions(version=2, users=parsed, source=source, unlisted=_unlisted(data, source))


def _unlisted(data: dict[str, Any], source: str) -> Unlisted:
    value = data.get("unlisted", DEFAULT_UNLISTED[2])
    if value not in set(Unlisted):
        raise DagPermissionsError(
            f'{source}: "unlisted": {json.dumps(value)} is not one of: {", ".join(sorted(Unlisted))}'
        )
    return Unlisted(value)


def _parse_users_v1(users: dict[str, Any], source: str) -> dict[str, dict[str, frozenset[str]]]:
    parsed = {}
    for user, dag_ids in users.items():
        _check_name(user, source, "user name")
        if not isinstance(dag_ids, list):
            hint = f"; {VERSION_HINT}" if isinstance(dag_ids, dict) else ""
            raise DagPermissionsError(f"{source}: user {user}: must be a list of DAG ids, not {_kind(dag_ids)}{hint}")
        parsed[user] = _read_only(dag_ids, source, f"user {user}")
    return parsed


def _parse_dags(dags: Any, source: str, where: str) -> dict[str, frozenset[str]]:
    if isinstance(dags, list):
        return _read_only(dags, source, where)
    if not isinstance(dags, dict):
        raise DagPermissionsError(f'{source}: {where}: "dags" must be a list or an object, not {_kind(dags)}')
    parsed: dict[str, frozenset[str]] = {}
    for dag_id, actions in dags.items():
        _check_name(dag_id, source, f"{where}: DAG id")
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise DagPermissionsError(f"{source}: {where}: DAG {dag_id}: must be a list of action names")
        unknown = sorted(set(actions) - set(ACTIONS))
        if unknown:
            raise DagPermissionsError(
                f"{source}: {where}: DAG {dag_id}: unknown action(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(ACTIONS)}"
            )
        parsed[dag_id] = frozenset({Action.READ, *map(Action, actions)})
    return parsed


def _read_only(dag_ids: list[Any], source: str, where: str) -> dict[str, frozenset[str]]:
    for dag_id in dag_ids:
        _check_name(dag_id, source, f"{where}: DAG id")
    return {dag_id: frozenset({Action.READ}) for dag_id in dag_ids}


def _check_name(value: Any, source: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DagPermissionsError(f"{source}: {what} must be a non-empty string, got {json.dumps(value)}")


def _no_unknown_keys(obj: dict[str, Any], allowed: set[str], source: str, where: str, hint: str = "") -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise DagPermissionsError(
            f"{source}: unknown key(s) in {where}: {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            + (hint if "unlisted" in unknown else "")
        )


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
