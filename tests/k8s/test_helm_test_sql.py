"""The `helm test` Job's SQL, run for real against PostgreSQL 18: it fails naming the missing
raw tables, and passes once they all exist."""

from __future__ import annotations

import psycopg2
import pytest

from imdb_loader.datasets import DATASETS
from tests.k8s.helpers import one, render_chart

pytestmark = pytest.mark.postgres


def helm_test_statements() -> list[str]:
    job = one(render_chart(), "Job", "imdb-pipeline-test-warehouse")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["psql"]
    return [args[i + 1] for i, arg in enumerate(args) if arg == "--command"]


def run(dsn: str, statements: list[str]) -> None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def test_fails_naming_missing_tables_then_passes(fresh_db: str) -> None:
    statements = helm_test_statements()
    with pytest.raises(psycopg2.errors.RaiseException, match=r"raw tables missing: .*imdb_raw\.title_basics"):
        run(fresh_db, statements)
    ddl = ["CREATE SCHEMA imdb_raw"] + [f"CREATE TABLE imdb_raw.{d.table} (x int)" for d in DATASETS[1:]]
    run(fresh_db, ddl)
    with pytest.raises(psycopg2.errors.RaiseException) as missing_one:
        run(fresh_db, statements)
    assert (
        str(missing_one.value)
        .splitlines()[0]
        .endswith(f"raw tables missing: imdb_raw.{DATASETS[0].table} (has imdb_download_and_load_dag run?)")
    )
    run(fresh_db, [f"CREATE TABLE imdb_raw.{DATASETS[0].table} (x int)"])
    run(fresh_db, statements)
