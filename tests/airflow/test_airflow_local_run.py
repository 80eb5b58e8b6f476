"""The DAG end to end with the local runner: ``airflow dags test`` against PostgreSQL 18.

Synthetic IMDb files are served over local HTTP; the first run loads all seven datasets and
builds the dbt marts; the second run finds every source unchanged and skips dbt. The runs go
through ``dags/scripts/run_local.py``, the same entry point people and ``make demo`` use.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

import psycopg2
import pytest

from imdb_devkit import synth
from imdb_devkit.server import serve
from imdb_loader.datasets import DATASETS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.001
LOAD_IDS = {ds.task_id for ds in DATASETS}


def run_local_module() -> ModuleType:
    path = REPO_ROOT / "dags" / "scripts" / "run_local.py"
    spec = importlib.util.spec_from_file_location("imdb_run_local", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def load_run_statuses(dsn: str) -> list[tuple[str, str]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT dataset, status FROM imdb_raw.load_runs ORDER BY started_at, dataset")
        return list(cur.fetchall())


@pytest.fixture(scope="module")
def local_runs(migrated_db_copy, pg_server, tmp_path_factory, monkeypatch_module):
    """Run the DAG twice with the local runner; yield each run's result and the audit rows."""
    run_local = run_local_module()
    work = tmp_path_factory.mktemp("local-run")
    files = work / "imdb"
    synth.generate(files, SCALE, seed=11)
    home = work / "airflow-home"
    home.mkdir()
    shutil.copy2(migrated_db_copy, home / "airflow.db")  # skip a second `airflow db migrate`
    monkeypatch_module.setenv("IMDB_DBT_TARGET_PATH", str(work / "dbt-target"))
    db_name = f"airflow_local_run_{uuid.uuid4().hex[:8]}"
    dsn = pg_server.create_database(db_name)
    runs = []
    try:
        with serve(files) as site:
            for attempt in (1, 2):
                started = time.perf_counter()
                (result,) = run_local.run(dsn, site.base_url, airflow_home=home)
                print(f"\nairflow dags test, run {attempt}: {time.perf_counter() - started:.1f}s")
                runs.append((result, load_run_statuses(dsn)))
        yield runs, dsn
    finally:
        pg_server.drop_database(db_name)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_first_run_loads_everything_and_builds_the_marts(local_runs):
    runs, dsn = local_runs
    result, statuses = runs[0]
    states = result.states
    assert {t: states.get(t) for t in LOAD_IDS} == dict.fromkeys(LOAD_IDS, "success"), result.output[-4000:]
    assert states["dbt_needed"] == "success"
    assert states["dbt_build"] == "success", result.output[-4000:]
    assert result.ok
    assert sorted(statuses) == sorted((ds.name, "loaded") for ds in DATASETS)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM imdb_raw.title_basics")
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT count(*) FROM imdb_marts.dim_titles")
        assert cur.fetchone()[0] > 0


def test_second_run_finds_everything_unchanged_and_skips_dbt(local_runs):
    runs, _ = local_runs
    result, statuses = runs[1]
    states = result.states
    assert {t: states.get(t) for t in LOAD_IDS} == dict.fromkeys(LOAD_IDS, "success"), result.output[-4000:]
    assert states["dbt_needed"] == "success"
    assert states["dbt_build"] == "skipped", result.output[-4000:]
    assert result.ok
    assert runs[0][0].run_id != result.run_id
    second = statuses[len(DATASETS) :]
    assert sorted(second) == sorted((ds.name, "unchanged") for ds in DATASETS)


def test_run_local_script_requires_a_dsn(monkeypatch, capsys):
    monkeypatch.delenv("IMDB_DSN", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        run_local_module().main([])
    assert exit_info.value.code == 2
    assert "--dsn (or IMDB_DSN) is required" in capsys.readouterr().err
