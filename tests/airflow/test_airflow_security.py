"""The per-user DAG security manager, through the real FAB auth manager and the REST API.

One FAB app per module (sqlite metadata in the session's Airflow home), three tiny DAGs
serialized by the real ``airflow dags reserialize``, users created through the security manager.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DAG_IDS = ("dag_a", "dag_b", "dag_c")
TINY_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="noop")
"""
INITIAL = {
    "version": 2,
    "users": {
        "alice": ["dag_a"],
        "bob": {"dags": {"dag_b": ["read", "trigger", "retry"], "dag_c": []}},
        "dave": {"dags": {"dag_c": ["edit"]}},
        "ghost": ["dag_a"],
        "nobody": ["dag_b"],
        "admin": ["dag_a"],
        "erin": ["dag_a", "no_such_dag"],
    },
}
# (user, starting role). carol is not in the file: version 2's default takes her DAGs away.
USERS = [
    ("alice", "Viewer"),
    ("bob", "User"),
    ("dave", "Op"),
    ("admin", "Admin"),
    ("carol", "Viewer"),
    ("erin", "Public"),
]


class Api:
    """A REST client that logs in through FAB's /auth/token, like the UI does."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def headers(self, user: str) -> dict[str, str]:
        response = self.client.post("/auth/token", json={"username": user, "password": f"pw-{user}"})
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def listed_dags(self, user: str) -> list[str] | int:
        response = self.client.get("/api/v2/dags", headers=self.headers(user))
        if response.status_code != 200:
            return response.status_code
        return sorted(d["dag_id"] for d in response.json()["dags"])

    def clear(self, user: str, dag_id: str) -> int:
        """HTTP status of clearing (retrying) ``dag_id``'s failed task instances, as a dry run."""
        response = self.client.post(
            f"/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": True, "only_failed": True},
            headers=self.headers(user),
        )
        return response.status_code

    def access(self, user: str, dag_id: str) -> dict[str, int]:
        """HTTP status of reading, editing (pause) and triggering ``dag_id`` as ``user``."""
        headers = self.headers(user)
        return {
            "read": self.client.get(f"/api/v2/dags/{dag_id}", headers=headers).status_code,
            "edit": self.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": True}, headers=headers).status_code,
            "trigger": self.client.post(
                f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None}, headers=headers
            ).status_code,
        }


@pytest.fixture(scope="module")
def permissions_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("perms") / "dag_permissions.json"
    path.write_text(json.dumps(INITIAL, indent=2))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IMDB_DAG_PERMISSIONS_FILE", str(path))
        yield path


@pytest.fixture(scope="module")
def fab(airflow_db, airflow_cli, permissions_file, tmp_path_factory):
    """(api, auth manager, flask app) with users created and the file applied."""
    dags = tmp_path_factory.mktemp("tiny-dags")
    for dag_id in DAG_IDS:
        (dags / f"{dag_id}.py").write_text(TINY_DAG.format(dag_id=dag_id))
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.utils.session import create_session

    # What `airflow dags reserialize` does, in-process: parse, serialize, sync DAG permissions.
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    bag = DagBag(str(dags))
    assert bag.import_errors == {}
    sync_bag_to_db(bag, "dags-folder", None)

    from airflow.api_fastapi.app import create_app, get_auth_manager, purge_cached_app
    from fastapi.testclient import TestClient

    app = create_app("core")
    auth_manager = get_auth_manager()
    flask_app = auth_manager.flask_app
    with flask_app.app_context():
        sm = auth_manager.security_manager
        for user, role in USERS:
            sm.add_user(user, user, "Test", f"{user}@example.com", sm.find_role(role), password=f"pw-{user}")
        sm.sync_roles()
    yield Api(TestClient(app)), auth_manager, flask_app
    purge_cached_app()


def roles_of(flask_app, auth_manager, user: str) -> list[str]:
    with flask_app.app_context():
        found = auth_manager.security_manager.find_user(username=user)
        return sorted(r.name for r in found.roles)


def resync(flask_app, auth_manager) -> None:
    with flask_app.app_context():
        auth_manager.security_manager.sync_roles()


def test_users_see_only_their_dags_in_the_rest_api(fab):
    api, _, _ = fab
    assert api.listed_dags("alice") == ["dag_a"]
    assert api.listed_dags("bob") == ["dag_b", "dag_c"]
    assert api.listed_dags("dave") == ["dag_c"]
    for dag_id in ("dag_b", "dag_c"):
        assert api.access("alice", dag_id) == {"read": 403, "edit": 403, "trigger": 403}
    assert api.access("bob", "dag_a") == {"read": 403, "edit": 403, "trigger": 403}


def test_edit_and_trigger_only_where_the_file_says(fab):
    api, _, _ = fab
    assert api.access("alice", "dag_a") == {"read": 200, "edit": 403, "trigger": 403}
    assert api.access("bob", "dag_b") == {"read": 200, "edit": 200, "trigger": 200}  # trigger needs DAG edit
    assert api.access("bob", "dag_c") == {"read": 200, "edit": 403, "trigger": 403}
    assert api.access("dave", "dag_c") == {"read": 200, "edit": 200, "trigger": 403}


def test_the_auth_manager_agrees(fab):
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    _, auth_manager, flask_app = fab
    with flask_app.app_context():
        alice = auth_manager.security_manager.find_user(username="alice")
        assert auth_manager.get_authorized_dag_ids(user=alice) == {"dag_a"}
        assert auth_manager.is_authorized_dag(method="GET", user=alice, details=DagDetails(id="dag_a"))
        assert not auth_manager.is_authorized_dag(method="GET", user=alice, details=DagDetails(id="dag_b"))
        assert not auth_manager.is_authorized_dag(method="PUT", user=alice, details=DagDetails(id="dag_a"))


def test_roles_opening_other_dags_are_replaced_and_admin_untouched(fab):
    api, auth_manager, flask_app = fab
    assert roles_of(flask_app, auth_manager, "bob") == ["dag-access-base", "dags:bob"]
    assert roles_of(flask_app, auth_manager, "dave") == ["dag-access-base", "dags:dave"]
    # Public opens no DAG, so erin keeps it.
    assert roles_of(flask_app, auth_manager, "erin") == ["Public", "dag-access-base", "dags:erin"]
    assert roles_of(flask_app, auth_manager, "admin") == ["Admin"]
    assert api.listed_dags("admin") == sorted(DAG_IDS)
    # Not in a version 2 file: Viewer (all DAGs) is replaced by the base role; an empty list, no 403.
    assert roles_of(flask_app, auth_manager, "carol") == ["dag-access-base"]
    assert api.listed_dags("carol") == []
    assert api.access("carol", "dag_a") == {"read": 403, "edit": 403, "trigger": 403}


def test_unlisted_untouched_and_version_1_leave_unlisted_users_alone(fab, permissions_file):
    api, auth_manager, flask_app = fab
    permissions_file.write_text(json.dumps({**INITIAL, "unlisted": "untouched"}))
    try:
        resync(flask_app, auth_manager)
        with flask_app.app_context():
            sm = auth_manager.security_manager
            sm.add_user("frank", "frank", "Test", "frank@example.com", sm.find_role("Viewer"), password="pw-frank")
        for document in ({**INITIAL, "unlisted": "untouched"}, {"alice": ["dag_a"]}):
            permissions_file.write_text(json.dumps(document))
            resync(flask_app, auth_manager)
            assert roles_of(flask_app, auth_manager, "frank") == ["Viewer"]
            assert api.listed_dags("frank") == sorted(DAG_IDS)
        permissions_file.write_text(json.dumps(INITIAL))
        resync(flask_app, auth_manager)
        assert roles_of(flask_app, auth_manager, "frank") == ["dag-access-base"]
        assert api.listed_dags("frank") == []
    finally:
        permissions_file.write_text(json.dumps(INITIAL))
        resync(flask_app, auth_manager)


def test_retry_allows_clearing_only_where_granted(fab):
    api, _, _ = fab
    assert api.clear("bob", "dag_b") == 200
    assert api.clear("bob", "dag_c") == 403, "read-only there"
    assert api.clear("bob", "dag_a") == 403, "not his"
    assert api.clear("dave", "dag_c") == 403, "edit is not retry"
    assert api.clear("alice", "dag_a") == 403


def test_retry_reaches_every_dag_the_user_may_edit(fab, permissions_file):
    """Airflow keeps task-instance edit global: documented in airflow/README.md (actions, retry)."""
    api, auth_manager, flask_app = fab
    users = {**INITIAL["users"], "bob": {"dags": {"dag_b": ["retry"], "dag_c": ["edit"]}}}
    permissions_file.write_text(json.dumps({**INITIAL, "users": users}))
    try:
        resync(flask_app, auth_manager)
        assert api.clear("bob", "dag_c") == 200
        assert api.clear("bob", "dag_a") == 403
    finally:
        permissions_file.write_text(json.dumps(INITIAL))
        resync(flask_app, auth_manager)


def test_unknown_users_and_dag_ids_warn_once_without_failing(fab, permissions_file, caplog):
    api, auth_manager, flask_app = fab
    with flask_app.app_context():
        sm = auth_manager.security_manager
        sm.add_user("root", "root", "Test", "root@example.com", sm.find_role("Admin"), password="pw-root")
    users = {**INITIAL["users"], "nobody-else": ["dag_a"], "root": ["dag_a"], "erin": ["dag_a", "no_dag_either"]}
    permissions_file.write_text(json.dumps({**INITIAL, "users": users}))
    try:
        with caplog.at_level(logging.WARNING, logger="imdb_security.manager"):
            resync(flask_app, auth_manager)
            first = [r.getMessage() for r in caplog.records]
            caplog.clear()
            resync(flask_app, auth_manager)
            second = [r.getMessage() for r in caplog.records]
        messages = " | ".join(first)
        assert "user 'nobody-else' is not registered" in messages
        assert "unknown DAG id 'no_dag_either'" in messages
        assert "'root' is an Admin" in messages
        assert len(first) == len(set(first)) == 3, first
        assert second == [], "the same advice again is noise"
        assert api.listed_dags("erin") == ["dag_a"]
    finally:
        permissions_file.write_text(json.dumps(INITIAL))
        resync(flask_app, auth_manager)


def test_a_sync_with_nothing_to_do_logs_nothing_and_a_change_one_line(fab, permissions_file, caplog):
    _, auth_manager, flask_app = fab
    with caplog.at_level(logging.INFO, logger="imdb_security.manager"):
        resync(flask_app, auth_manager)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == []
    caplog.clear()
    permissions_file.write_text(json.dumps({**INITIAL, "users": {**INITIAL["users"], "alice": ["dag_b"]}}))
    try:
        with caplog.at_level(logging.INFO, logger="imdb_security.manager"):
            resync(flask_app, auth_manager)
        applied = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert len(applied) == 1 and "role dags:alice set to 1 DAG(s)" in applied[0], applied
    finally:
        permissions_file.write_text(json.dumps(INITIAL))
        resync(flask_app, auth_manager)


def test_a_listed_user_created_later_gets_exactly_its_dags_at_once(fab):
    api, auth_manager, flask_app = fab
    with flask_app.app_context():
        sm = auth_manager.security_manager
        sm.add_user("ghost", "ghost", "Test", "ghost@example.com", sm.find_role("User"), password="pw-ghost")
    assert roles_of(flask_app, auth_manager, "ghost") == ["dag-access-base", "dags:ghost"]
    assert api.listed_dags("ghost") == ["dag_a"]
    assert api.access("ghost", "dag_a") == {"read": 200, "edit": 403, "trigger": 403}


def test_changing_the_file_and_resyncing_changes_access(fab, permissions_file):
    api, auth_manager, flask_app = fab
    changed = {
        "alice": {"dags": {"dag_b": ["read", "edit"], "dag_c": ["read"]}},  # moved to other DAGs
        "dave": ["dag_c"],  # edit taken away
        # bob removed from the file
    }
    permissions_file.write_text(json.dumps({"version": 2, "users": changed}))
    try:
        resync(flask_app, auth_manager)
        assert api.listed_dags("alice") == ["dag_b", "dag_c"]
        assert api.access("alice", "dag_a") == {"read": 403, "edit": 403, "trigger": 403}
        assert api.access("alice", "dag_b") == {"read": 200, "edit": 200, "trigger": 403}
        assert api.access("dave", "dag_c") == {"read": 200, "edit": 403, "trigger": 403}
        assert api.listed_dags("bob") == [], "bob left the file: no DAGs, an empty list rather than a 403"
        assert roles_of(flask_app, auth_manager, "bob") == ["dag-access-base"]
        with flask_app.app_context():
            assert auth_manager.security_manager.find_role("dags:bob") is None
    finally:
        permissions_file.write_text(json.dumps(INITIAL))
        resync(flask_app, auth_manager)


def test_version_1_file_of_the_original_pipeline_still_works(fab, permissions_file):
    api, auth_manager, flask_app = fab
    permissions_file.write_text(json.dumps({"alice": ["dag_c"], "dave": ["dag_a", "dag_b"]}))
    try:
        resync(flask_app, auth_manager)
        assert api.listed_dags("alice") == ["dag_c"]
        assert api.listed_dags("dave") == ["dag_a", "dag_b"]
        assert api.access("dave", "dag_a") == {"read": 200, "edit": 403, "trigger": 403}
    finally:
        permissions_file.write_text(json.dumps(INITIAL))
        resync(flask_app, auth_manager)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ('{\n  "alice": ["dag_a"],\n  "bob": ["dag_b",]\n}\n', "line 3, column 19: invalid JSON"),
        ('{"version": 2, "users": {"bob": {"dags": {"d": ["run"]}}}}', "user bob: DAG d: unknown action(s) run"),
        ('{"users": {"bob": {"dags": ["dag_b"]}}}', 'needs "version": 2 at the top level'),
    ],
)
def test_a_bad_file_stops_sync_perm_with_one_line(airflow_db, tmp_path, document, problem):
    import os
    import subprocess
    import sys

    from imdb_security.permissions_file import ExitCode

    bad = tmp_path / "dag_permissions.json"
    bad.write_text(document)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "sync-perm"],
        env={**os.environ, "IMDB_DAG_PERMISSIONS_FILE": str(bad)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == ExitCode.BAD_PERMISSIONS_FILE, proc.stdout + proc.stderr
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if str(bad) in line]
    assert len(errors) == 1 and problem in errors[0], proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
