"""``make airflow-ui`` as a person runs it: logins printed once, they work, the DAG runs, Ctrl-C cleans up.

Runs ``scripts/airflow_ui.py`` as a process (PostgreSQL 18, synthetic IMDb, the three Airflow
processes), logs in with every printed login through the API server's ``/auth/token``, unpauses
the DAG as ``data-engineer`` through the REST API the UI uses, waits for the run the scheduler
then starts to load every dataset and build the marts with the local runner, then sends SIGINT
as a terminal's Ctrl-C does and checks that nothing it started is left: no process and no
temporary directory.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from imdb_loader.datasets import DATASETS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "airflow_ui.py"
START_SECONDS = 300
RUN_SECONDS = 600
STOP_WAIT_SECONDS = 120
DAG_ID = "imdb_download_and_load_dag"
LOGIN = re.compile(r"^\s+login (\S+)\s+password (\S+)")


def read_until(lines: queue.Queue[str | None], marker: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            pytest.fail("airflow_ui.py ended early:\n" + "".join(seen[-40:]))
        seen.append(line)
        if marker in line:
            return seen
    pytest.fail(f"no {marker!r} from airflow_ui.py in {timeout:.0f}s:\n" + "".join(seen[-40:]))


def call(url: str, method: str = "GET", body: object = None, token: str = "") -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) of one request to our own API server."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (our http URL)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own http URL)
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return int(exc.code), {}


def token_status(url: str, user: str, password: str) -> int:
    return call(url + "auth/token", "POST", {"username": user, "password": password})[0]


def run_the_dag(url: str, user: str, password: str) -> dict[str, str]:
    """Unpause the DAG as ``user``; wait for the scheduler's run to end; its task states."""
    status, answer = call(url + "auth/token", "POST", {"username": user, "password": password})
    assert status == 201
    token = answer["access_token"]
    dag = f"{url}api/v2/dags/{DAG_ID}"
    assert call(dag, "PATCH", {"is_paused": False}, token)[0] == 200
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        runs = call(f"{dag}/dagRuns", token=token)[1].get("dag_runs", [])
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            break
        time.sleep(3)
    else:
        pytest.fail(f"the DAG run did not end in {RUN_SECONDS}s")
    tis = call(f"{dag}/dagRuns/~/taskInstances", token=token)[1]["task_instances"]
    return {ti["task_id"]: ti["state"] for ti in tis}


def processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found.append(f"{cmdline.parent.name}: {args[:200]}")
    return found


def test_airflow_ui_prints_working_logins_and_ctrl_c_removes_everything():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        started = time.perf_counter()
        output = read_until(lines, "Ctrl-C stops everything", START_SECONDS)
        print(f"\nairflow_ui.py ready in {time.perf_counter() - started:.1f}s")
        text = "".join(output)
        url = re.search(r"Airflow UI:\s+(http://127\.0\.0\.1:\d+/)", text).group(1)  # type: ignore[union-attr]
        root = Path(re.search(r"Logs:\s+(/\S+)/logs/", text).group(1))  # type: ignore[union-attr]
        logins = dict(m.groups() for line in output if (m := LOGIN.match(line)))
        assert set(logins) == {"admin", "analyst", "data-engineer"}, text
        for user, password in logins.items():
            assert len(password) >= 12 and password != user and text.count(password) == 1
            assert token_status(url, user, password) == 201, user
        assert token_status(url, "admin", "admin") == 401, "no admin/admin"
        assert root.is_dir()
        started = time.perf_counter()
        states = run_the_dag(url, "data-engineer", logins["data-engineer"])
        print(f"DAG run with the local runner: {time.perf_counter() - started:.1f}s")
        assert {t: s for t, s in states.items() if t.startswith("load_")} == dict.fromkeys(
            (ds.task_id for ds in DATASETS), "success"
        ), states
        assert states["dbt_build"] == "success", states
    finally:
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        # A hang guard, not a time budget: the stack's own stop is bounded (SIGTERM, then SIGKILL
        # after STOP_SECONDS, PostgreSQL's fast shutdown, then kill).
        code = proc.wait(timeout=STOP_WAIT_SECONDS)
        print(f"airflow_ui.py stopped in {time.perf_counter() - stopping:.1f}s")
    assert code == 0
    assert not root.exists(), f"{root} left behind"
    assert processes_mentioning(str(root)) == []
