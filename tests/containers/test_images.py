"""Each image, built for real, does its real job as its non-root user on a read-only root.

loader: all seven synthetic datasets from the local IMDb into PostgreSQL 18, then all seven
skipped as unchanged. dbt: `dbt build` and `dbt source freshness` on what the loader loaded.
airflow: the DAG imports without errors and has its nine tasks; the security manager imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from imdb_devkit import pg
from imdb_devkit.server import ImdbServer
from imdb_loader.datasets import DATASETS
from tests.conftest import DBT_MARTS
from tests.containers.conftest import CONTAINER_TMP, Database, Images, explain, new_database, query

pytestmark = pytest.mark.containers

IMAGES = ["airflow", "loader", "dbt"]
DAG_ID = "imdb_download_and_load_dag"
# Seven loads, the gate that skips dbt when nothing changed, dbt (as tests/airflow checks it).
TASK_IDS = {ds.task_id for ds in DATASETS} | {"dbt_needed", "dbt_build"}
PROBE = (
    "id -u; id -g; grep -E '^(CapEff|NoNewPrivs):' /proc/self/status; "
    "if touch /probe 2>/dev/null; then echo root-writable; else echo root-read-only; fi; "
    "touch /tmp/probe && echo tmp-writable"
)


@pytest.fixture(scope="module")
def warehouse(pg_server: pg.Server) -> Iterator[Database]:
    name, database = new_database(pg_server, "containers_images")
    yield database
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def loader_runs(images: Images, warehouse: Database, imdb_site: ImdbServer) -> list[dict[str, Any]]:
    """Run the loader image twice on all datasets; the load_runs rows after each run."""
    outcomes = []
    for _ in range(2):
        done = images.run("loader", "all", "--base-url", imdb_site.base_url, env=warehouse.libpq)
        rows = query(warehouse.dsn, "SELECT status, count(*) FROM imdb_raw.load_runs GROUP BY status")
        outcomes.append({"done": done, "statuses": dict(rows)})
    return outcomes


@pytest.mark.parametrize("image", IMAGES)
def test_runs_as_its_numeric_non_root_user_read_only_without_capabilities(images: Images, image: str) -> None:
    built = next(i for i in images.report["images"] if i["image"] == image)
    uid, _, gid = built["user"].partition(":")
    assert uid.isdigit() and int(uid) != 0, f"{image}: USER {built['user']}"
    done = images.run(image, "-c", PROBE, entrypoint="/bin/sh")
    assert done.returncode == 0, explain(done)
    lines = done.stdout.split("\n")
    assert lines[0] == uid and (not gid or lines[1] == gid), done.stdout
    status = dict(line.split(":\t") for line in lines[2:4])
    assert status == {"CapEff": "0000000000000000", "NoNewPrivs": "1"}, done.stdout
    assert "root-read-only" in lines and "tmp-writable" in lines, done.stdout


@pytest.mark.postgres
def test_loader_loads_all_seven_then_skips_all_seven_unchanged(loader_runs: list[dict[str, Any]]) -> None:
    first, second = loader_runs
    assert first["done"].returncode == 0, explain(first["done"])
    assert first["statuses"] == {"loaded": len(DATASETS)}, explain(first["done"])
    assert second["done"].returncode == 0, explain(second["done"])
    assert second["statuses"] == {"loaded": len(DATASETS), "unchanged": len(DATASETS)}, explain(second["done"])
    assert "unchanged" in second["done"].stdout + second["done"].stderr


@pytest.mark.postgres
def test_dbt_builds_and_checks_freshness_on_what_the_loader_loaded(
    images: Images, warehouse: Database, loader_runs: list[dict[str, Any]]
) -> None:
    assert loader_runs[0]["statuses"].get("loaded") == len(DATASETS), "the loader image did not load"
    build = images.run("dbt", "build", env=warehouse.libpq)
    assert build.returncode == 0, explain(build)
    marts = query(warehouse.dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'imdb_marts'")
    assert {name for (name,) in marts} >= DBT_MARTS
    freshness = images.run("dbt", "source", "freshness", env=warehouse.libpq)
    assert freshness.returncode == 0, explain(freshness)
    assert "PASS" in freshness.stdout, explain(freshness)


@pytest.fixture(scope="module")
def airflow_env(pg_server: pg.Server) -> Iterator[dict[str, str]]:
    """Airflow's settings as the chart gives them: a PostgreSQL metadata database, config and
    logs outside the read-only root."""
    name, metadata = new_database(pg_server, "containers_airflow")
    lib = metadata.libpq
    conn = f"postgresql+psycopg2://{lib['PGUSER']}:{lib['PGPASSWORD']}@{lib['PGHOST']}:{lib['PGPORT']}/{name}"
    yield {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conn,
        "AIRFLOW_CONFIG": f"{CONTAINER_TMP}/airflow.cfg",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": f"{CONTAINER_TMP}/logs",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    pg_server.drop_database(name)


@pytest.mark.postgres
def test_airflow_parses_the_dag_with_nine_tasks_and_imports_the_security_manager(
    images: Images, airflow_env: dict[str, str]
) -> None:
    migrate = images.run("airflow", "db", "migrate", env=airflow_env, entrypoint="airflow")
    assert migrate.returncode == 0, explain(migrate)
    # Parsed here and now, as the DAG processor parses its bundle (which puts the bundle's folder
    # on sys.path, so the DAG's imdb_pipeline package imports); not read from the database.
    local = ("--local", "--bundle-name", "dags-folder", "--output", "json")
    errors = images.run("airflow", "dags", "list-import-errors", *local, **_airflow(airflow_env))
    assert errors.returncode == 0, explain(errors)
    assert json.loads(errors.stdout.strip().splitlines()[-1]) == [], explain(errors)
    tasks = images.run("airflow", "tasks", "list", DAG_ID, **_airflow(airflow_env))
    assert tasks.returncode == 0, explain(tasks)
    listed = tasks.stdout.split()
    assert len(listed) == 9 and set(listed) == TASK_IDS, explain(tasks)
    check = (
        "import webserver_config; from imdb_security import ImdbSecurityManager; "
        "assert webserver_config.SECURITY_MANAGER_CLASS is ImdbSecurityManager; print(ImdbSecurityManager.__module__)"
    )
    manager = images.run("airflow", "-c", check, env=airflow_env, entrypoint="python")
    assert manager.returncode == 0, explain(manager)
    assert manager.stdout.strip().splitlines()[-1] == "imdb_security.manager"


def _airflow(env: dict[str, str]) -> dict[str, Any]:
    return {"env": env, "entrypoint": "airflow"}
