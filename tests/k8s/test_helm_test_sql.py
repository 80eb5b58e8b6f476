"""The `helm test` Job's SQL, run for real against PostgreSQL 18 on the loader's own audit table:
it fails before any load and names a loaded dataset whose table is gone, then passes."""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest

from imdb_loader.audit import ensure_schema
from imdb_loader.datasets import DATASETS
from imdb_loader.defaults import DEFAULT_SCHEMA
from imdb_loader.outcome import LoadStatus
from tests.k8s.helpers import one, render_chart

pytestmark = pytest.mark.postgres


def helm_test_statements(values: dict[str, Any] | None = None) -> list[str]:
    job = one(render_chart(values), "Job", "imdb-pipeline-test-warehouse")
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["psql"]
    return [args[i + 1] for i, arg in enumerate(args) if arg == "--command"]


def run(dsn: str, statements: list[str]) -> list[str]:
    """Run the statements; the server's notices, as psql would print them."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        return [notice.strip() for notice in conn.notices]


def failure(dsn: str, statements: list[str]) -> str:
    with pytest.raises(psycopg2.errors.RaiseException) as raised:
        run(dsn, statements)
    return str(raised.value).splitlines()[0]


def record_loaded(dsn: str, schema: str) -> None:
    """The loader's audit table with a 'loaded' run per dataset, and every table but the first."""
    with psycopg2.connect(dsn) as conn:
        ensure_schema(conn, schema)
        with conn.cursor() as cur:
            for number, dataset in enumerate(DATASETS):
                cur.execute(
                    f"INSERT INTO {schema}.load_runs (run_id, dataset, source_url, status) VALUES (%s, %s, %s, %s)",
                    (f"run-{number}", dataset.name, f"http://127.0.0.1/{dataset.file_name}", LoadStatus.LOADED),
                )
                if number:
                    cur.execute(f"CREATE TABLE {schema}.{dataset.table} (x int)")
                    cur.execute(f"INSERT INTO {schema}.{dataset.table} VALUES (1)")


def test_fails_before_any_load_then_names_the_missing_table_then_passes(fresh_db: str) -> None:
    statements = helm_test_statements()
    assert failure(fresh_db, statements).startswith("no load has run yet: no load_runs table")
    record_loaded(fresh_db, DEFAULT_SCHEMA)
    first = DATASETS[0]
    assert failure(fresh_db, statements) == (f"loaded datasets without a live table in {DEFAULT_SCHEMA}: {first.name}")
    run(fresh_db, [f"CREATE TABLE {DEFAULT_SCHEMA}.{first.table} (x int)"])
    assert f"NOTICE:  datasets_live: {len(DATASETS)} in {DEFAULT_SCHEMA}" in run(fresh_db, statements)


def test_a_chosen_raw_schema_is_the_one_checked(fresh_db: str) -> None:
    record_loaded(fresh_db, "imdb_raw_test")
    record_loaded(fresh_db, "imdb_raw_other")
    assert failure(fresh_db, helm_test_statements()).startswith("load_runs in several schemas")
    chosen = helm_test_statements({"pipeline": {"rawSchema": "imdb_raw_test"}})
    assert failure(fresh_db, chosen) == f"loaded datasets without a live table in imdb_raw_test: {DATASETS[0].name}"
