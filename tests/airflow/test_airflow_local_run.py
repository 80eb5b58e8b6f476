"""The DAG end to end with the local runner: ``airflow dags test`` against PostgreSQL 18.

Synthetic IMDb files are served over local HTTP; the first run loads all seven datasets and
builds the dbt marts; the second run finds every source unchanged and skips dbt.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from imdb_loader.datasets import DATASETS
from imdb_loader.devkit import synth
from imdb_loader.devkit.server import serve

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "imdb_download_and_load_dag"
SCALE = 0.001
LOAD_IDS = {ds.task_id for ds in DATASETS}


def task_states(db: Path) -> dict[str, str | None]:
    """Task states of the most recent run of the DAG, read from the sqlite metadata DB."""
    with sqlite3.connect(db) as conn:
        (run_id,) = conn.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
        ).fetchone()
        rows = conn.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (DAG_ID, run_id)
        ).fetchall()
    return dict(rows)


def load_run_statuses(dsn: str) -> list[tuple[str, str]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT dataset, status FROM imdb_raw.load_runs ORDER BY started_at, dataset")
        return list(cur.fetchall())


@pytest.fixture(scope="module")
def local_runs(migrated_db_copy, airflow_cli, pg_server, tmp_path_factory):
    """Run the DAG twice with the local runner; yield what each run left behind."""
    work = tmp_path_factory.mktemp("local-run")
    files = work / "imdb"
    synth.generate(files, SCALE, seed=11)
    db = work / "airflow.db"
    shutil.copy2(migrated_db_copy, db)
    dsn = pg_server.create_database("airflow_local_run")
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "AIRFLOW_HOME": str(work),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "IMDB_PIPELINE_RUNNER": "local",
        "IMDB_DSN": dsn,
        "IMDB_DBT_TARGET_PATH": str(work / "dbt-target"),
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")]),
    }
    airflow_cli("pools", "set", "imdb_loads", "3", "IMDb loads", env=env)
    runs = []
    try:
        with serve(files) as site:
            env["IMDB_BASE_URL"] = site.base_url
            for attempt in (1, 2):
                started = time.perf_counter()
                output = airflow_cli("dags", "test", DAG_ID, env=env, timeout=600)
                print(f"\nairflow dags test, run {attempt}: {time.perf_counter() - started:.1f}s")
                runs.append((output, task_states(db), load_run_statuses(dsn)))
        yield runs, dsn
    finally:
        pg_server.drop_database("airflow_local_run")


def test_first_run_loads_everything_and_builds_the_marts(local_runs):
    (runs, dsn) = local_runs
    output, states, statuses = runs[0]
    assert {t: states.get(t) for t in LOAD_IDS} == dict.fromkeys(LOAD_IDS, "success"), output[-4000:]
    assert states["dbt_needed"] == "success"
    assert states["dbt_build"] == "success", output[-4000:]
    assert sorted(statuses) == sorted((ds.name, "loaded") for ds in DATASETS)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM imdb_raw.title_basics")
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT count(*) FROM imdb_marts.dim_titles")
        assert cur.fetchone()[0] > 0


def test_second_run_finds_everything_unchanged_and_skips_dbt(local_runs):
    (runs, _) = local_runs
    output, states, statuses = runs[1]
    assert {t: states.get(t) for t in LOAD_IDS} == dict.fromkeys(LOAD_IDS, "success"), output[-4000:]
    assert states["dbt_needed"] == "success"
    assert states["dbt_build"] == "skipped", output[-4000:]
    second = statuses[len(DATASETS) :]
    assert sorted(second) == sorted((ds.name, "unchanged") for ds in DATASETS)
