"""Change capture: the keys each day added, changed and removed, as the files say, committed with the swap.

Day 0 and day 1 come from the dev kit's day generator; what changed between them is worked out
here in Python from the two files, line by line, and compared with what the loader recorded.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from imdb_devkit import synth
from imdb_loader import changes, datasets, ddl
from imdb_loader.changes import Changes
from imdb_loader.config import LoadConfig
from imdb_loader.datasets import Column, Dataset
from imdb_loader.errors import ExitCode
from imdb_loader.load import DatasetLoad
from imdb_loader.outcome import ChangeKind, FullReason, LoadStatus

from .conftest import SCALE, Runner, publish, query, write_gz

RATINGS = datasets.get("title.ratings")
Key = tuple[str | int, ...]
Expected = dict[ChangeKind, set[Key]]


@pytest.fixture(scope="session")
def days(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Day 0 and day 1 of one synthetic IMDb, clean (no duplicate keys), every dataset."""
    root = tmp_path_factory.mktemp("days")
    for day in (0, 1):
        synth.generate(root / f"day{day}", SCALE, seed=31, clean=True, jobs=1, day=day)
    return root / "day0", root / "day1"


def file_rows(ds: Dataset, path: Path) -> dict[Key, bytes]:
    """Key -> the whole line, as IMDb wrote it."""
    at = [ds.column_names.index(k) for k in ds.primary_key]
    typed = [ds.column(k).pg_type == "integer" for k in ds.primary_key]
    with gzip.open(path, "rb") as f:
        header, *lines = f.read().splitlines()
    assert header.decode().split("\t") == list(ds.header)
    rows = {}
    for line in lines:
        fields = line.decode().split("\t")
        rows[tuple(int(fields[i]) if t else fields[i] for i, t in zip(at, typed, strict=True))] = line
    return rows


def expected_changes(ds: Dataset, before: Path, after: Path) -> Expected:
    old, new = file_rows(ds, before / ds.file_name), file_rows(ds, after / ds.file_name)
    return {
        ChangeKind.ADDED: new.keys() - old.keys(),
        ChangeKind.REMOVED: old.keys() - new.keys(),
        ChangeKind.CHANGED: {k for k in old.keys() & new.keys() if old[k] != new[k]},
    }


def logged_changes(dsn: str, ds: Dataset, run_id: str) -> Expected:
    """The change log of one run, as keys in the dataset's own key order."""
    columns = [changes.log_column(ds, k) for k in ds.primary_key]
    got: Expected = {kind: set() for kind in ChangeKind}
    for change, *key in query(
        dsn, f"SELECT change, {', '.join(columns)} FROM imdb_raw.load_changes WHERE run_id = %s", (run_id,)
    ):
        got[ChangeKind(str(change))].add(tuple(key))
    return got


def last_run(dsn: str, dataset: str) -> dict[str, object]:
    columns = "run_id, status, rows_added, rows_changed, rows_removed, changes_full, changes_full_reason"
    rows = query(
        dsn, f"SELECT {columns} FROM imdb_raw.load_runs WHERE dataset = %s ORDER BY started_at DESC LIMIT 1", (dataset,)
    )
    return dict(zip(columns.split(", "), rows[0], strict=True))


def change_rows(dsn: str, run_id: object) -> int:
    return int(query(dsn, "SELECT count(*) FROM imdb_raw.load_changes WHERE run_id = %s", (run_id,))[0][0])


def full(reason: FullReason) -> dict[str, object]:
    return {
        "rows_added": None,
        "rows_changed": None,
        "rows_removed": None,
        "changes_full": True,
        "changes_full_reason": str(reason),
    }


# -- the records -------------------------------------------------------------------------------------


def test_day_over_day_the_log_holds_exactly_the_keys_the_files_changed(
    days: tuple[Path, Path], site, run_load: Runner, fresh_db: str, tmp_path: Path
) -> None:
    root, _ = site
    publish(root, days[0], *datasets.NAMES)
    assert run_load("all") == ExitCode.OK
    for name in datasets.NAMES:
        run = last_run(fresh_db, name)
        assert {k: v for k, v in run.items() if k not in ("run_id", "status")} == full(FullReason.NO_LIVE_TABLE)
        assert change_rows(fresh_db, run["run_id"]) == 0, "a first load writes no change rows"

    publish(root, days[1], *datasets.NAMES)
    result_file = tmp_path / "result.json"
    assert run_load("all", "--result-file", str(result_file)) == ExitCode.OK
    reported = {d["dataset"]: d["changes"] for d in json.loads(result_file.read_text())["datasets"]}
    for ds in datasets.DATASETS:
        expected = expected_changes(ds, *days)
        run = last_run(fresh_db, ds.name)
        counts = {kind: len(keys) for kind, keys in expected.items()}
        assert run["status"] == LoadStatus.LOADED
        assert (run["rows_added"], run["rows_changed"], run["rows_removed"], run["changes_full"]) == (
            counts[ChangeKind.ADDED],
            counts[ChangeKind.CHANGED],
            counts[ChangeKind.REMOVED],
            False,
        ), ds.name
        assert logged_changes(fresh_db, ds, str(run["run_id"])) == expected, ds.name
        assert reported[ds.name] == Changes.counted(counts).as_dict()
    # A day of churn touches every dataset this generator changes, or the comparison proves little.
    assert all(last_run(fresh_db, n)["rows_added"] for n in datasets.NAMES)
    assert last_run(fresh_db, "title.ratings")["rows_changed"]


def test_an_unchanged_source_records_no_changes(days, site, run_load: Runner, fresh_db: str) -> None:
    root, _ = site
    publish(root, days[0], RATINGS.name)
    assert run_load(RATINGS.name) == ExitCode.OK
    assert run_load(RATINGS.name) == ExitCode.OK
    run = last_run(fresh_db, RATINGS.name)
    assert run["status"] == LoadStatus.UNCHANGED
    assert (run["rows_added"], run["rows_changed"], run["rows_removed"], run["changes_full"]) == (0, 0, 0, False)
    assert change_rows(fresh_db, run["run_id"]) == 0


def test_force_and_a_dropped_table_record_everything(days, site, run_load: Runner, fresh_db: str) -> None:
    root, _ = site
    publish(root, days[0], RATINGS.name)
    assert run_load(RATINGS.name) == ExitCode.OK
    publish(root, days[1], RATINGS.name)
    assert run_load(RATINGS.name, "--force") == ExitCode.OK
    run = last_run(fresh_db, RATINGS.name)
    assert {k: v for k, v in run.items() if k not in ("run_id", "status")} == full(FullReason.FORCED)
    assert change_rows(fresh_db, run["run_id"]) == 0

    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE imdb_raw.title_ratings")
    conn.close()
    publish(root, days[0], RATINGS.name)
    assert run_load(RATINGS.name) == ExitCode.OK
    assert last_run(fresh_db, RATINGS.name)["changes_full_reason"] == FullReason.NO_LIVE_TABLE


def test_a_new_column_records_everything(days, site, run_load: Runner, fresh_db: str) -> None:
    """IMDb adds a column and the registry follows: rows of two shapes do not compare."""
    root, server = site
    publish(root, days[0], RATINGS.name)
    assert run_load(RATINGS.name) == ExitCode.OK
    wider = dataclasses.replace(RATINGS, columns=(*RATINGS.columns, Column("numReviews", "integer")))
    with gzip.open(days[1] / RATINGS.file_name, "rb") as f:
        header, *lines = f.read().splitlines()
    write_gz(root / RATINGS.file_name, [header + b"\tnumReviews", *(line + b"\t7" for line in lines)])
    result = DatasetLoad(wider, LoadConfig(dsn=fresh_db, base_url=server.base_url)).run()
    assert result.status == LoadStatus.LOADED, result.error
    assert result.changes == Changes.everything(FullReason.COLUMNS_CHANGED)
    run = last_run(fresh_db, RATINGS.name)
    assert {k: v for k, v in run.items() if k not in ("run_id", "status")} == full(FullReason.COLUMNS_CHANGED)
    assert change_rows(fresh_db, run["run_id"]) == 0


def test_the_capture_streams_both_versions_through_a_merge_join(days, site, run_load: Runner, fresh_db: str) -> None:
    """Constant memory: the two primary-key indexes in order, no hash table, nothing spilled."""
    root, _ = site
    principals = datasets.get("title.principals")
    publish(root, days[0], principals.name)
    assert run_load(principals.name) == ExitCode.OK
    conn = psycopg2.connect(fresh_db)
    try:
        with conn.cursor() as cur:
            fresh = "_load_plan_check"
            cur.execute(ddl.create_table(principals, "imdb_raw", fresh))
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT * FROM imdb_raw.title_principals; ALTER TABLE {} ADD PRIMARY KEY ({})"
                ).format(
                    ddl.qualified("imdb_raw", fresh), ddl.qualified("imdb_raw", fresh), ddl.key_columns(principals)
                )
            )
            cur.execute(sql.SQL("ANALYZE {}").format(ddl.qualified("imdb_raw", fresh)))
            for name, value in changes.PLANNER_SETTINGS.items():
                cur.execute("SELECT set_config(%s, %s, true)", (name, value))
            cur.execute(
                sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + changes.capture_sql(principals, "imdb_raw", fresh),
                {"run_id": "plan-check", "dataset": principals.name},
            )
            plan = "\n".join(row[0] for row in cur.fetchall())
    finally:
        conn.rollback()
        conn.close()
    assert "Merge Full Join" in plan, plan
    assert plan.count("Index Scan using") == 2, plan
    assert "Hash Join" not in plan and "Sort" not in plan and "temp" not in plan, plan


def test_a_locked_live_table_fails_the_capture_within_the_lock_budget(days, site, run_load, fresh_db: str) -> None:
    root, server = site
    publish(root, days[0], RATINGS.name)
    assert run_load(RATINGS.name) == ExitCode.OK
    publish(root, days[1], RATINGS.name)
    holder = psycopg2.connect(fresh_db)
    holder.cursor().execute("LOCK TABLE imdb_raw.title_ratings IN ACCESS EXCLUSIVE MODE")
    try:
        cfg = LoadConfig(dsn=fresh_db, base_url=server.base_url, lock_timeout_s=0.1, swap_attempts=3)
        result = DatasetLoad(RATINGS, cfg).run()
    finally:
        holder.close()
    assert result.exit_code == ExitCode.DATABASE_ERROR
    assert "could not compare the new version with the live table" in (result.error or ""), result.error
    assert "the previous table stays live" in (result.error or "")
    assert result.changes is None
    run = last_run(fresh_db, RATINGS.name)
    assert (run["status"], run["changes_full"], run["rows_added"]) == (LoadStatus.FAILED, None, None)
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.load_changes") == [(0,)]
    day0 = file_rows(RATINGS, days[0] / RATINGS.file_name)
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.title_ratings") == [(len(day0),)]


# -- SIGKILL in the middle of the capture -------------------------------------------------------------


@pytest.fixture
def admin(fresh_db: str) -> Iterator[psycopg2.extensions.connection]:
    conn = psycopg2.connect(fresh_db)
    yield conn
    conn.close()


def wait_for_capture(dsn: str, lock: str, timeout: float = 60) -> int:
    """The backend pid of the loader's capture statement once it waits for a ``lock``
    (pg_stat_activity's wait_event: 'relation' for a table, 'transactionid' for another's row)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(
            dsn,
            "SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND wait_event_type = 'Lock' AND wait_event = %s",
            (f"/* {changes.CAPTURE_MARKER} */%", lock),
        )
        if rows:
            return int(str(rows[0][0]))
        time.sleep(0.05)
    raise AssertionError(f"the loader's change capture never waited for a {lock} lock")


def wait_until_gone(dsn: str, pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while query(dsn, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)):
        assert time.monotonic() < deadline, "the killed loader's backend never ended"
        time.sleep(0.05)


def test_sigkill_mid_capture_leaves_table_and_log_consistent_and_the_rerun_recovers(
    days: tuple[Path, Path], site, run_load: Runner, fresh_db: str, admin
) -> None:
    root, server = site
    publish(root, days[0], RATINGS.name)
    assert run_load(RATINGS.name) == ExitCode.OK
    day0 = file_rows(RATINGS, days[0] / RATINGS.file_name)
    expected = expected_changes(RATINGS, *days)
    last_key = max(k for keys in expected.values() for k in keys)
    publish(root, days[1], RATINGS.name)

    # 1. Hold the live table, so the loader stops at the start of its capture, with the new
    #    table built in its transaction.
    live_holder = psycopg2.connect(fresh_db)
    live_holder.cursor().execute("LOCK TABLE imdb_raw.title_ratings IN ACCESS EXCLUSIVE MODE")
    loader = subprocess.Popen(
        [sys.executable, "-m", "imdb_loader.cli", RATINGS.name, "--dsn", fresh_db, "--base-url", server.base_url],
        stderr=subprocess.DEVNULL,
    )
    try:
        pid = wait_for_capture(fresh_db, "relation")
        [(run_id,)] = query(fresh_db, "SELECT run_id FROM imdb_raw.load_runs WHERE status = 'running'")
        # 2. An uncommitted change row for the last key the capture will write: the capture,
        #    which writes keys in order, stalls there, with every other change row written.
        with admin.cursor() as cur:
            cur.execute(
                "INSERT INTO imdb_raw.load_changes (run_id, dataset, change, tconst) VALUES (%s, %s, %s, %s)",
                (run_id, RATINGS.name, str(ChangeKind.CHANGED), last_key[0]),
            )
        live_holder.commit()
        assert wait_for_capture(fresh_db, "transactionid") == pid
        # Readers meanwhile: the complete old table, and none of the run's change rows.
        assert query(fresh_db, "SELECT count(*) FROM imdb_raw.title_ratings") == [(len(day0),)]
        assert change_rows(fresh_db, run_id) == 0
        loader.send_signal(signal.SIGKILL)
        loader.wait(timeout=60)
    finally:
        loader.kill()
        live_holder.close()
        admin.rollback()
    wait_until_gone(fresh_db, pid)

    live = query(fresh_db, "SELECT tconst, average_rating::text, num_votes::text FROM imdb_raw.title_ratings")
    assert {(t,): f"{t}\t{r}\t{v}".encode() for t, r, v in live} == day0, "day 0 is still live, byte for byte"
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.load_changes") == [(0,)]
    assert query(fresh_db, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '\\_load\\_%%'") == [(0,)]
    assert last_run(fresh_db, RATINGS.name)["status"] == LoadStatus.RUNNING

    assert run_load(RATINGS.name) == ExitCode.OK
    statuses = query(fresh_db, "SELECT status FROM imdb_raw.load_runs ORDER BY started_at")
    assert statuses == [("loaded",), ("abandoned",), ("loaded",)]
    run = last_run(fresh_db, RATINGS.name)
    assert logged_changes(fresh_db, RATINGS, str(run["run_id"])) == expected
    assert (run["rows_added"], run["rows_changed"], run["rows_removed"]) == tuple(
        len(expected[k]) for k in (ChangeKind.ADDED, ChangeKind.CHANGED, ChangeKind.REMOVED)
    )
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.load_changes") == [(sum(map(len, expected.values())),)]


# -- units -------------------------------------------------------------------------------------------


def test_every_registry_key_has_a_log_column_of_its_type() -> None:
    for ds in datasets.DATASETS:
        for key in ds.primary_key:
            column = changes.log_column(ds, key)
            assert changes.LOG_KEY_COLUMNS[column].split()[0] == ds.column(key).pg_type, (ds.name, key)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"added": 1, "changed": 0, "removed": None},
        {"added": -1, "changed": 0, "removed": 0},
        {"added": 0, "changed": 0, "removed": 0, "full_reason": FullReason.FORCED},
    ],
)
def test_changes_refuse_half_records(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"changes|full"):
        Changes(**kwargs)  # type: ignore[arg-type]


def test_changes_say_what_they_are() -> None:
    assert Changes.counted({ChangeKind.ADDED: 1200}).describe() == "1,200 added, 0 changed, 0 removed"
    assert Changes.everything(FullReason.FORCED).as_dict() == {
        "added": None,
        "changed": None,
        "removed": None,
        "full": True,
        "full_reason": "forced",
    }
