"""``make airflow-ui`` as a person runs it: logins printed once, they work, Ctrl-C cleans up.

Runs ``scripts/airflow_ui.py`` as a process (PostgreSQL 18, synthetic IMDb, the three Airflow
processes), logs in with every printed login through the API server's ``/auth/token``, then
sends SIGINT as a terminal's Ctrl-C does and checks that nothing it started is left: no process
and no temporary directory.
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
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "airflow_ui.py"
START_SECONDS = 300
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


def token_status(url: str, user: str, password: str) -> int:
    request = urllib.request.Request(  # noqa: S310 (our own http URL)
        url + "auth/token",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own http URL)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


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
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
    assert code == 0
    assert not root.exists(), f"{root} left behind"
    assert processes_mentioning(str(root)) == []
