"""Crashes, lost connections, competing loaders and readers: the live table always survives."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from imdb_loader import datasets
from imdb_loader.config import LoadConfig
from imdb_loader.errors import ExitCode
from imdb_loader.load import DatasetLoad

from .conftest import Runner, publish, query

NAMES = datasets.get("name.basics")


def spawn(dsn: str, base_url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "imdb_loader.cli", "name.basics", "--dsn", dsn, "--base-url", base_url, *args],
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_copy(dsn: str, timeout: float = 30) -> int:
    """The backend pid of the loader once its COPY is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(dsn, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY%%' AND pid <> pg_backend_pid()")
        if rows:
            return int(rows[0][0])
        time.sleep(0.05)
    raise AssertionError("the loader never started its COPY")


def leftovers(dsn: str) -> list[tuple[object, ...]]:
    return query(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'imdb_raw' AND tablename LIKE '\\_%%'")


@pytest.fixture
def loaded_once(clean_files: Path, site, run_load: Runner, fresh_db: str) -> tuple[Path, object, int]:
    root, server = site
    publish(root, clean_files, "name.basics")
    assert run_load("name.basics") == ExitCode.OK
    rows = int(query(fresh_db, "SELECT count(*) FROM imdb_raw.name_basics")[0][0])
    size = (root / NAMES.file_name).stat().st_size
    server.faults.throttle(max(size // 30, 1))  # about thirty seconds per download: tests cut it short
    return root, server, rows


def test_sigkill_mid_copy_leaves_the_live_table_and_the_rerun_works(loaded_once, fresh_db: str) -> None:
    _, server, rows = loaded_once
    loader = spawn(fresh_db, server.base_url, "--force")
    wait_for_copy(fresh_db)
    loader.send_signal(signal.SIGKILL)
    loader.wait()
    time.sleep(0.3)  # the server notices the closed socket and rolls back
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.name_basics") == [(rows,)]
    assert leftovers(fresh_db) == []
    assert query(fresh_db, "SELECT status FROM imdb_raw.load_runs ORDER BY started_at DESC LIMIT 1") == [("running",)]
    server.faults.clear()
    result = DatasetLoad(NAMES, LoadConfig(dsn=fresh_db, base_url=server.base_url, force=True)).run()
    assert result.status == "loaded", result.error
    statuses = query(fresh_db, "SELECT status FROM imdb_raw.load_runs ORDER BY started_at")
    assert statuses == [("loaded",), ("abandoned",), ("loaded",)]


def test_lost_database_connection_mid_copy(loaded_once, fresh_db: str) -> None:
    _, server, rows = loaded_once
    loader = spawn(fresh_db, server.base_url, "--force")
    pid = wait_for_copy(fresh_db)
    query(fresh_db, "SELECT pg_terminate_backend(%s)", (pid,))
    _, err = loader.communicate(timeout=60)
    assert loader.returncode == ExitCode.DATABASE_ERROR, err
    expected = "lost the connection to the database during copy: terminating connection due to administrator command"
    assert expected in err.splitlines()[-1]
    assert "Traceback" not in err and "SystemError" not in err and "invalid socket" not in err, err
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.name_basics") == [(rows,)]
    assert leftovers(fresh_db) == []
    (status, error), *_ = query(fresh_db, "SELECT status, error FROM imdb_raw.load_runs ORDER BY started_at DESC")
    assert status == "failed" and expected in error


def test_a_second_loader_of_the_same_dataset_exits_busy(loaded_once, fresh_db: str) -> None:
    _, server, _ = loaded_once
    first = spawn(fresh_db, server.base_url, "--force")
    wait_for_copy(fresh_db)
    second = spawn(fresh_db, server.base_url, "--force")
    _, err = second.communicate(timeout=60)
    assert second.returncode == ExitCode.BUSY, err
    assert "another imdb-load is loading this dataset" in err
    assert first.poll() is None, "the first loader carries on"
    (status, error), *_ = query(fresh_db, "SELECT status, error FROM imdb_raw.load_runs ORDER BY started_at DESC")
    assert status == "busy" and "another imdb-load" in error, "the refused run is on record"
    first.kill()
    first.wait()


def test_sigterm_mid_copy_is_one_line_a_failed_row_and_exit_143(loaded_once, fresh_db: str) -> None:
    _, server, rows = loaded_once
    loader = spawn(fresh_db, server.base_url, "--force")
    wait_for_copy(fresh_db)
    started = time.monotonic()
    loader.send_signal(signal.SIGTERM)
    _, err = loader.communicate(timeout=60)
    assert loader.returncode == ExitCode.TERMINATED == 143, err
    assert time.monotonic() - started < 10, "stops at once, not when the download ends"
    assert (
        err.strip().splitlines()[-1] == "imdb-load: stopped by SIGTERM before the swap; the previous table stays live"
    )
    assert "Traceback" not in err
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.name_basics") == [(rows,)]
    (status, error), *_ = query(fresh_db, "SELECT status, error FROM imdb_raw.load_runs ORDER BY started_at DESC")
    assert (status, error) == ("failed", "stopped by SIGTERM before the swap; the previous table stays live")
    assert leftovers(fresh_db) == []


def test_a_lost_lock_connection_stops_the_load_promptly(loaded_once, fresh_db: str) -> None:
    _, server, rows = loaded_once
    loader = spawn(fresh_db, server.base_url, "--force")
    wait_for_copy(fresh_db)
    [(holder,)] = query(fresh_db, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
    started = time.monotonic()
    query(fresh_db, "SELECT pg_terminate_backend(%s)", (holder,))
    _, err = loader.communicate(timeout=60)
    assert loader.returncode == ExitCode.DATABASE_ERROR, err
    assert time.monotonic() - started < 10, "noticed within seconds, long before the copy would end"
    assert "lost the database connection that holds this dataset's lock" in err.strip().splitlines()[-1]
    (status, error), *_ = query(fresh_db, "SELECT status, error FROM imdb_raw.load_runs ORDER BY started_at DESC")
    assert status == "failed" and "holds this dataset's lock" in error
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.name_basics") == [(rows,)]


def test_a_reader_delays_the_swap_but_never_sees_a_partial_table(loaded_once, fresh_db: str) -> None:
    _, server, rows = loaded_once
    server.faults.clear()
    reader = psycopg2.connect(fresh_db)
    cur = reader.cursor()
    cur.execute("SELECT count(*) FROM imdb_raw.name_basics")  # holds ACCESS SHARE until commit
    assert cur.fetchone() == (rows,)
    cfg = LoadConfig(dsn=fresh_db, base_url=server.base_url, force=True, lock_timeout_s=0.2, swap_attempts=100)
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(DatasetLoad(NAMES, cfg).run()))
    thread.start()
    time.sleep(2.0)
    assert thread.is_alive(), "the swap waits for the reader"
    cur.execute("SELECT count(*) FROM imdb_raw.name_basics")
    assert cur.fetchone() == (rows,), "the reader keeps its complete table"
    reader.commit()
    thread.join(timeout=60)
    result = outcome[0]
    assert result.status == "loaded", result.error  # type: ignore[attr-defined]
    reader.close()


def test_a_reader_that_never_lets_go_fails_the_swap_cleanly(loaded_once, fresh_db: str) -> None:
    _, server, rows = loaded_once
    server.faults.clear()
    reader = psycopg2.connect(fresh_db)
    reader.cursor().execute("SELECT count(*) FROM imdb_raw.name_basics")
    cfg = LoadConfig(dsn=fresh_db, base_url=server.base_url, force=True, lock_timeout_s=0.1, swap_attempts=3)
    result = DatasetLoad(NAMES, cfg).run()
    reader.close()
    assert result.exit_code == ExitCode.DATABASE_ERROR
    assert "readers held imdb_raw.name_basics" in (result.error or "")
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.name_basics") == [(rows,)]
    assert leftovers(fresh_db) == []


def test_views_and_grants_follow_the_new_table(loaded_once, fresh_db: str) -> None:
    _, server, rows = loaded_once
    server.faults.clear()
    admin = psycopg2.connect(fresh_db)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS marts")
        cur.execute("CREATE VIEW marts.people AS SELECT nconst, primary_name FROM imdb_raw.name_basics")
        cur.execute("CREATE VIEW marts.people_count AS SELECT count(*) AS n FROM marts.people")
        cur.execute("DO $$ BEGIN CREATE ROLE imdb_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        cur.execute("GRANT SELECT ON imdb_raw.name_basics TO imdb_reader")
        cur.execute("SELECT 'imdb_raw.name_basics'::regclass::oid")
        (old_oid,) = cur.fetchone()
    result = DatasetLoad(NAMES, LoadConfig(dsn=fresh_db, base_url=server.base_url, force=True)).run()
    assert result.status == "loaded", result.error
    with admin.cursor() as cur:
        cur.execute("SELECT 'imdb_raw.name_basics'::regclass::oid")
        assert cur.fetchone()[0] != old_oid, "a new table is live"
        cur.execute("SELECT n FROM marts.people_count")
        assert cur.fetchone() == (rows,)
        cur.execute("SELECT has_table_privilege('imdb_reader', 'imdb_raw.name_basics', 'SELECT')")
        assert cur.fetchone() == (True,)
        cur.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'imdb_raw.name_basics'::regclass")
        assert [r[0] for r in cur.fetchall()] == ["imdb_raw.name_basics_pkey"]
    admin.close()
