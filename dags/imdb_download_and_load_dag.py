"""
# IMDb download and load

Fetches the seven [IMDb non-commercial datasets](https://developer.imdb.com/non-commercial-datasets/),
loads each into PostgreSQL (`imdb_raw.<dataset>`), then models them with dbt (`imdb_marts`).

**Tasks**
* `load_<dataset>` (one per dataset, task group *loads*): `imdb-load <dataset>`. A load whose
  source did not change since the last successful load reports `unchanged` and does nothing.
  The pool `imdb_loads` caps how many run at once.
* `dbt_needed`: skips dbt when every load reported `unchanged` (trigger with
  `{"force_dbt": true}` to build anyway).
* `dbt_build`: `dbt build`, then `dbt source freshness`.

**Runner** (`IMDB_PIPELINE_RUNNER`): `kubernetes` runs every task in its own hardened pod;
`local` runs the same commands as local processes (laptop, CI).

Settings come from environment variables, each overridable by an Airflow Variable of the same
name; see `dags/README.md`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, Param, TaskGroup, task
from imdb_pipeline import config as cfg
from imdb_pipeline.jobs import DBT_EXECUTION_TIMEOUT, LOAD_JOBS
from imdb_pipeline.marts import mart_names
from imdb_pipeline.results import dbt_needed as decide_dbt

CONF = cfg.load()  # environment only: cheap, and no metadata-database access at parse time

if CONF.runner == "kubernetes":
    from imdb_pipeline import kubernetes as runner
else:
    from imdb_pipeline import local as runner  # type: ignore[no-redef]

RAW_ASSETS = {
    job.task_id: Asset(name=f"{CONF.schema}.{job.dataset.table}", uri=CONF.raw_asset_uri(job.dataset.table))
    for job in LOAD_JOBS
}
MART_ASSETS = [  # the dbt project's marts (dbt/models/marts/_marts__models.yml)
    Asset(name=f"{cfg.MARTS_SCHEMA}.{mart}", uri=cfg.PipelineConfig.mart_asset_uri(mart)) for mart in mart_names()
]

with DAG(
    dag_id=cfg.DAG_ID,
    description="Download the IMDb datasets, load them into PostgreSQL, build the dbt marts.",
    doc_md=__doc__,
    schedule="@daily",  # IMDb refreshes the files once a day
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["imdb", "postgres", "dbt", CONF.runner],
    params={
        "force_dbt": Param(
            False,
            type="boolean",
            description="Run dbt even when every dataset is unchanged.",
        )
    },
    default_args={
        "owner": "imdb-pipeline",
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
    },
) as dag:
    with TaskGroup("loads", prefix_group_id=False, tooltip="One imdb-load per dataset") as loads:
        load_tasks = [
            runner.load_operator(
                CONF,
                job,
                pool=cfg.POOL,
                execution_timeout=job.execution_timeout,
                outlets=[RAW_ASSETS[job.task_id]],
            )
            for job in LOAD_JOBS
        ]

    @task.short_circuit(task_id="dbt_needed")
    def dbt_needed(ti: Any = None, params: Any = None) -> bool:
        """False (skip dbt) when every load reported "unchanged" and force_dbt is off."""
        results = ti.xcom_pull(task_ids=[job.task_id for job in LOAD_JOBS])
        run, why = decide_dbt(results, force=bool((params or {}).get("force_dbt")))
        print(why)
        return run

    dbt_build = runner.dbt_operator(
        CONF,
        execution_timeout=DBT_EXECUTION_TIMEOUT,
        inlets=list(RAW_ASSETS.values()),
        outlets=MART_ASSETS,
    )

    loads >> dbt_needed() >> dbt_build
