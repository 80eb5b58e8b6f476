"""Per-user DAG access as a person meets it: the real Airflow UI in headless Chromium.

One stack for the module, as ``make airflow-ui`` starts it (PostgreSQL 18, API server,
scheduler, DAG processor, FAB auth manager with our security manager), plus a second, tiny DAG
so that users can differ in which DAGs they see. What each user should see is read from the
permissions file with the security manager's own parser, never restated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from imdb_security.permissions_file import parse
from imdb_ui.stack import ADMIN_USER, DAG_ID, LocalAirflow, Options

from .conftest import NO_DAGS

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

OTHER_DAG = "browser_other_dag"
OTHER_TASK = "only_in_the_other_dag"
OTHER_DAG_FILE = f"""
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("{OTHER_DAG}", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="{OTHER_TASK}")
"""
# alice reads the pipeline; bob may trigger the other DAG; carol is listed with nothing.
PERMISSIONS = {
    "version": 2,
    "users": {
        "alice": [DAG_ID],
        "bob": {"dags": {OTHER_DAG: ["read", "trigger"]}},
        "carol": [],
    },
}
# After the change: alice moves to the other DAG, bob leaves the file, carol gets the pipeline.
CHANGED = {"version": 2, "users": {"alice": [OTHER_DAG], "carol": [DAG_ID]}}
RESYNC_SECONDS = 30  # the stack's permission cache is 5 s; a page load may need a retry


@pytest.fixture(scope="module")
def stack(chromium, tmp_path_factory) -> Iterator[LocalAirflow]:
    work = tmp_path_factory.mktemp("browser-stack")
    dags = work / "dags"
    dags.mkdir()
    (dags / f"{OTHER_DAG}.py").write_text(OTHER_DAG_FILE)
    permissions = work / "dag_permissions.json"
    permissions.write_text(json.dumps(PERMISSIONS))
    started = time.perf_counter()
    with LocalAirflow(Options(permissions_file=permissions, extra_dag_dirs=[dags])) as running:
        print(f"\nstack up in {time.perf_counter() - started:.1f}s at {running.url}")
        yield running


def expected_dags(stack: LocalAirflow, user: str) -> set[str]:
    if user == ADMIN_USER:
        return stack.expected_dag_ids()
    config = parse(stack.permissions_file.read_text(), source=str(stack.permissions_file))
    return set(config.dags_for(user))


def run_count(stack: LocalAirflow, dag_id: str) -> int:
    with psycopg2.connect(stack.metadata_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM dag_run WHERE dag_id = %s", (dag_id,))
        return int(cur.fetchone()[0])


def trigger(ui: Any, dag_id: str) -> str:
    """Press Trigger on the DAG's page, then Trigger in the dialog; the page text afterwards."""
    from selenium.webdriver.common.by import By

    ui.open(f"dags/{dag_id}", "Trigger", "Trigger button")

    def buttons(d: Any, scope: str = "") -> list[Any]:
        return [b for b in d.find_elements(By.CSS_SELECTOR, f"{scope} button") if b.text.strip() == "Trigger"]

    ui.wait(buttons, "Trigger button")[0].click()
    ui.wait(lambda d: buttons(d, "[role=dialog]"), "Trigger dialog")[-1].click()
    ui.screenshot(f"trigger-{dag_id}")
    return ui.text()


def test_each_user_sees_exactly_their_dags(stack, browser):
    assert stack.expected_dag_ids() == {DAG_ID, OTHER_DAG}
    for user in ("alice", "bob", "carol", ADMIN_USER):
        ui = browser(stack, user)
        assert ui.listed_dags() == expected_dags(stack, user), user
    assert "403" not in ui.text()


def test_a_user_without_dags_gets_an_empty_list_not_an_error(stack, browser):
    ui = browser(stack, "carol")
    assert ui.listed_dags() == set()
    text = ui.text()
    assert NO_DAGS in text
    assert "403" not in text and "Forbidden" not in text


def test_an_ungranted_dag_opened_by_url_shows_no_data(stack, browser):
    alice = browser(stack, "alice")
    text = alice.open(f"dags/{OTHER_DAG}/tasks", "403 Forbidden", "refusal on the other DAG's tasks")
    alice.screenshot("ungranted-tasks")
    assert OTHER_TASK not in text
    # The same page for a user who holds the DAG shows its task: the check above can fail.
    bob = browser(stack, "bob")
    text = bob.open(f"dags/{OTHER_DAG}/tasks", OTHER_TASK, "the other DAG's task")
    assert "403" not in text


def test_a_read_only_users_trigger_is_refused(stack, browser):
    before = run_count(stack, DAG_ID)
    alice = browser(stack, "alice")
    trigger(alice, DAG_ID)
    alice.wait(lambda d: "You do not have permission" in alice.text(), "refusal of the trigger")
    alice.screenshot("trigger-refused")
    assert run_count(stack, DAG_ID) == before, "a refused trigger must not create a run"
    # bob holds "trigger" on the other DAG: the same clicks create a run.
    other_before = run_count(stack, OTHER_DAG)
    bob = browser(stack, "bob")
    trigger(bob, OTHER_DAG)
    bob.wait(lambda d: run_count(stack, OTHER_DAG) > other_before, "the run bob triggered")
    assert "You do not have permission" not in bob.text()


def test_lists_follow_the_file_after_a_resync(stack, browser):
    uis = {user: browser(stack, user) for user in ("alice", "bob", "carol")}
    before = {user: expected_dags(stack, user) for user in uis}
    assert uis["alice"].listed_dags() == before["alice"]
    stack.permissions_file.write_text(json.dumps(CHANGED))
    try:
        stack.sync_permissions()
        wanted = {user: expected_dags(stack, user) for user in uis}
        assert wanted != before
        for user, ui in uis.items():
            deadline = time.monotonic() + RESYNC_SECONDS
            while (seen := ui.listed_dags()) != wanted[user] and time.monotonic() < deadline:
                time.sleep(1)
            assert seen == wanted[user], f"{user} still sees {seen} {RESYNC_SECONDS}s after the re-sync"
        assert "403" not in uis["bob"].text(), "bob left the file: an empty list, not an error"
    finally:
        stack.permissions_file.write_text(json.dumps(PERMISSIONS))
        stack.sync_permissions()
