"""The DAG file: imports cleanly, has the contract's task ids, wiring, scheduling and lineage."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from imdb_loader.datasets import DATASETS

from ..conftest import DBT_MARTS

DAG_ID = "imdb_download_and_load_dag"
LOAD_IDS = {ds.task_id for ds in DATASETS}
DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    print(f"\nDagBag parse of {DAGS_DIR}: {time.perf_counter() - started:.2f}s")
    return bag


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags[DAG_ID]


def test_dagbag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {DAG_ID}


def test_support_package_is_not_parsed_as_dags(dagbag):
    parsed = {path.rsplit("/", 1)[-1] for path in dagbag.file_last_changed}
    assert parsed == {"imdb_download_and_load_dag.py"}, "dags/.airflowignore must keep imdb_pipeline/ out"
    assert (DAGS_DIR / "imdb_pipeline" / "config.py").exists()


def test_task_ids_and_dependencies(dag):
    assert set(dag.task_ids) == LOAD_IDS | {"dbt_needed", "dbt_build"}
    gate = dag.get_task("dbt_needed")
    assert gate.upstream_task_ids == LOAD_IDS
    assert dag.get_task("dbt_build").upstream_task_ids == {"dbt_needed"}
    for task_id in LOAD_IDS:
        task = dag.get_task(task_id)
        assert task.upstream_task_ids == set()
        assert task.task_group.group_id == "loads"
        assert task.pool == "imdb_loads"


def test_scheduling_and_limits(dag):
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.schedule == "@daily"
    assert {"imdb", "dbt"} <= set(dag.tags)
    assert dag.doc_md and "IMDb download and load" in dag.doc_md
    assert dag.params["force_dbt"] is False
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff >= 2, task.task_id
        assert task.max_retry_delay is not None, task.task_id
    for ds in DATASETS:
        timeout = dag.get_task(ds.task_id).execution_timeout
        assert timeout is not None and timeout >= timedelta(hours=1)
    heavy = [ds for ds in DATASETS if ds.heavy]
    light = [ds for ds in DATASETS if not ds.heavy]
    assert heavy and light
    assert dag.get_task(heavy[0].task_id).execution_timeout > dag.get_task(light[0].task_id).execution_timeout
    assert dag.get_task("dbt_build").execution_timeout is not None


def test_lineage_assets(dag):
    for ds in DATASETS:
        (outlet,) = dag.get_task(ds.task_id).outlets
        assert outlet.uri == f"postgres://imdb-warehouse-rw:5432/imdb/imdb_raw/{ds.table}"
    dbt = dag.get_task("dbt_build")
    marts = {a.uri.rsplit("/", 1)[-1] for a in dbt.outlets}
    assert len(DBT_MARTS) == 8 and marts == DBT_MARTS
    assert all(a.uri.startswith("postgres://imdb-warehouse-rw:5432/imdb/imdb_marts/") for a in dbt.outlets)
    assert len(dbt.inlets) == len(DATASETS)


def test_assets_carry_no_credentials(dag):
    """Every logged-in user sees every asset (airflow/README.md, security): nothing secret in them."""
    from urllib.parse import urlsplit

    assets = [a for task in dag.tasks for a in [*task.inlets, *task.outlets]]
    assert assets
    for asset in assets:
        parts = urlsplit(asset.uri)
        assert parts.username is None and parts.password is None and "@" not in asset.uri, asset.uri
        assert not parts.query and not parts.fragment, asset.uri
        assert not asset.extra, f"{asset.uri}: extras are shown to everyone"


def test_dag_serializes(dag):
    from airflow.serialization.serialized_objects import DagSerialization

    data = DagSerialization.to_dict(dag)
    restored = DagSerialization.from_dict(data)
    assert set(restored.task_ids) == set(dag.task_ids)


@pytest.mark.parametrize(
    ("results", "force", "expected"),
    [
        ([{"status": "unchanged", "datasets": [{"status": "unchanged"}]}] * 7, False, False),
        ([{"status": "unchanged", "datasets": [{"status": "unchanged"}]}] * 7, True, True),
        (
            [{"status": "unchanged", "datasets": [{"status": "unchanged"}]}] * 6
            + [{"status": "loaded", "datasets": [{"status": "loaded"}]}],
            False,
            True,
        ),
        ([{"status": "unchanged", "datasets": [{"status": "unchanged"}]}] * 6 + [None], False, True),
        ([{"status": "unchanged"}] * 7, False, False),
        ([{"datasets": "garbage"}] * 7, False, True),
    ],
)
def test_dbt_gate_decision(results, force, expected):
    from imdb_pipeline.results import dbt_needed

    run, why = dbt_needed(results, force=force)
    assert run is expected, why


def test_parse_reads_no_airflow_variables(monkeypatch):
    """Variable.get at parse time would hit the metadata database on every DAG-processor loop."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Variable

    def refuse(*args, **kwargs):
        raise AssertionError("Variable.get called while parsing the DAG file")

    monkeypatch.setattr(Variable, "get", refuse)
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}


def test_local_runner_builds_the_same_tasks_without_kubernetes(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("IMDB_PIPELINE_RUNNER", "local")
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    assert set(dag.task_ids) == LOAD_IDS | {"dbt_needed", "dbt_build"}
    assert {type(dag.get_task(t)).__name__ for t in LOAD_IDS} == {"LocalLoadOperator"}
    assert type(dag.get_task("dbt_build")).__name__ == "LocalDbtOperator"
    assert all(dag.get_task(t).pool == "imdb_loads" for t in LOAD_IDS)
    assert "local" in dag.tags


class XComStub:
    """Stands in for the task instance: hands out given load results for the load task ids."""

    def __init__(self, results_by_task: dict[str, object]) -> None:
        self.results_by_task = results_by_task

    def xcom_pull(self, task_ids: list[str]) -> list[object]:
        return [self.results_by_task.get(task_id) for task_id in task_ids]


@pytest.mark.parametrize(
    ("status_of_title_ratings", "force_dbt", "expected"),
    [("unchanged", False, False), ("unchanged", True, True), ("loaded", False, True)],
)
def test_dbt_gate_task_reads_every_load_and_the_force_param(dag, status_of_title_ratings, force_dbt, expected):
    unchanged = {"status": "unchanged", "datasets": [{"dataset": "x", "status": "unchanged"}]}
    results = {task_id: unchanged for task_id in LOAD_IDS}
    results["load_title_ratings"] = {
        "status": status_of_title_ratings,
        "datasets": [{"status": status_of_title_ratings}],
    }
    gate = dag.get_task("dbt_needed")
    assert gate.python_callable(ti=XComStub(results), params={"force_dbt": force_dbt}) is expected
