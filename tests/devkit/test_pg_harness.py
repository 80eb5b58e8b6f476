"""The PostgreSQL 18 harness: version, root handling, cleanup, external servers."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest

import imdb_loader
from imdb_devkit import pg


def test_session_server_is_postgres_18(pg_server: pg.Server) -> None:
    with psycopg2.connect(pg_server.dsn) as conn, conn.cursor() as cur:
        cur.execute("show server_version_num")
        (version,) = cur.fetchone()
    assert int(version) // 10000 == 18


def test_fresh_db_is_empty_and_isolated(fresh_db: str) -> None:
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from pg_tables where schemaname = 'public'")
        assert cur.fetchone() == (0,)
        cur.execute("create table marker (x int)")


@pytest.mark.postgres
def test_listens_on_loopback_only_with_a_password() -> None:
    with pg.ThrowawayPostgres() as server:
        with psycopg2.connect(server.dsn) as conn, conn.cursor() as cur:
            cur.execute("show listen_addresses")
            assert cur.fetchone() == ("127.0.0.1",)
        wrong = server.dsn.replace(server.password, "wrong-password")
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(wrong)


@pytest.mark.postgres
def test_server_runs_unprivileged_even_as_root() -> None:
    with pg.ThrowawayPostgres() as server:
        assert server.pid is not None
        uid = os.stat(f"/proc/{server.pid}").st_uid
        if os.geteuid() == 0:
            assert uid != 0, "postgres must not run as root"
        else:
            assert uid == os.geteuid()


@pytest.mark.postgres
def test_stop_removes_everything() -> None:
    server = pg.ThrowawayPostgres().start()
    root, pid = server.root, server.pid
    assert root is not None and root.exists()
    server.stop()
    assert not root.exists()
    assert _is_zombie_or_gone(pid)


def _is_zombie_or_gone(pid: int | None) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" in f.read()
    except FileNotFoundError:
        return True


@pytest.mark.postgres
def test_server_dies_with_a_crashed_parent(tmp_path) -> None:
    """A test process killed outright must not leave a postgres behind."""
    script = (
        "import os, sys, time\n"
        "from imdb_devkit.pg import ThrowawayPostgres\n"
        "s = ThrowawayPostgres().start()\n"
        "print(s.pid, s.root, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    pid_text, root_text = child.stdout.readline().split()
    child.kill()
    child.wait()
    pid = int(pid_text)
    for _ in range(100):
        if _is_zombie_or_gone(pid):
            break
        time.sleep(0.1)
    assert _is_zombie_or_gone(pid), "postgres outlived the process that started it"
    assert Path(root_text).exists(), "nothing could delete it yet: its owner was killed outright"
    with pg.ThrowawayPostgres() as next_server:
        assert next_server.root is not None and next_server.root.exists()
        assert not Path(root_text).exists(), "the next harness deletes what a killed one left behind"


def test_sweep_keeps_what_is_not_abandoned(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(gone.stdout)  # reaped by run(): nobody has this pid now
    dirs = {name: tmp_path / name for name in ("imdb-pg-dead", "imdb-pg-live", "imdb-pg-unknown", "imdb-pg-serving")}
    for d in dirs.values():
        (d / "data").mkdir(parents=True)
    (dirs["imdb-pg-dead"] / pg.OWNER_FILE).write_text(f"{dead_pid}\n")
    (dirs["imdb-pg-live"] / pg.OWNER_FILE).write_text(f"{os.getpid()}\n")
    (dirs["imdb-pg-serving"] / pg.OWNER_FILE).write_text(f"{dead_pid}\n")
    (dirs["imdb-pg-serving"] / "data" / "postmaster.pid").write_text(f"{os.getpid()}\n/data\n")
    other = tmp_path / "not-a-harness"
    other.mkdir()
    (other / pg.OWNER_FILE).write_text(f"{dead_pid}\n")

    assert pg.sweep_abandoned(tmp_path) == [dirs["imdb-pg-dead"]]
    assert not dirs["imdb-pg-dead"].exists()
    assert all(dirs[n].exists() for n in ("imdb-pg-live", "imdb-pg-unknown", "imdb-pg-serving")) and other.exists()


def test_external_server_is_used_as_is(monkeypatch: pytest.MonkeyPatch, pg_server: pg.Server) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_server.dsn)
    with pg.server() as server:
        assert server.owned is None
        assert server.dsn == pg_server.dsn


def test_with_database_rewrites_only_the_path() -> None:
    dsn = "postgresql://app:s3cr%40t@db.example:5432/imdb?sslmode=require"
    assert pg.with_database(dsn, "other") == "postgresql://app:s3cr%40t@db.example:5432/other?sslmode=require"


@pytest.mark.skipif(os.geteuid() != 0, reason="already running as non-root: every other test covers that path")
def _python_for(account: pwd.struct_passwd, home: Path) -> tuple[str, dict[str, str]]:
    """A Python ``account`` can run, with this venv's packages: this venv's own, or, when it
    links into a home the account cannot enter (pyenv under /root), the system's Python of
    the same version with the venv's site-packages, devkit/ and loader/ on PYTHONPATH."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(home)}
    ids: dict[str, Any] = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    try:
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True, timeout=60, **ids)
    except (PermissionError, subprocess.CalledProcessError):
        system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
        if not system.exists():
            pytest.skip(f"{account.pw_name} cannot run {sys.executable}, and there is no {system}")
        packages = sysconfig.get_paths()["purelib"]
        sources = [Path(module.__file__ or "").parents[1] for module in (pg, imdb_loader)]  # devkit/, loader/
        env["PYTHONPATH"] = os.pathsep.join([packages, *map(str, sources)])
        return str(system), env
    return sys.executable, env


@pytest.mark.postgres
def test_harness_works_for_an_unprivileged_user(tmp_path: Path) -> None:
    """Started by a non-root user, the harness runs the server as that user, without any switch."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start a process as another user; every other test here runs unprivileged")
    nobody = pwd.getpwnam(os.environ.get("IMDB_PG_RUN_AS", "nobody"))
    script = (
        "import os, psycopg2\n"
        "from imdb_devkit.pg import ThrowawayPostgres\n"
        "with ThrowawayPostgres() as s:\n"
        "    cur = psycopg2.connect(s.dsn).cursor()\n"
        "    cur.execute('show server_version_num')\n"
        "    print(os.geteuid(), os.stat(f'/proc/{s.pid}').st_uid, cur.fetchone()[0])\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    python, env = _python_for(nobody, home)
    out = subprocess.run(
        [python, "-c", script],
        user=nobody.pw_uid,
        group=nobody.pw_gid,
        extra_groups=[],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    euid, server_uid, version = out.stdout.split()
    assert int(euid) == int(server_uid) == nobody.pw_uid
    assert int(version) // 10000 == 18
