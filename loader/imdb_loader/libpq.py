"""libpq's connection keywords and the environment variables that stand for them.

One mapping for every part that hands a database to another process: the DAG's pods (whose
CloudNativePG app secret uses these same keywords as its keys, docs/contracts.md), the local
runner and the demo (which give dbt a DSN as ``PG*`` variables), and the tests. Importing it
needs only the standard library, as the DAG requires in the Airflow image.
"""

from __future__ import annotations

PG_ENV: dict[str, str] = {
    "host": "PGHOST",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
}
"""libpq keyword -> environment variable; also the app secret's key -> the pod's variable."""

OPTIONAL_PG_ENV: dict[str, str] = {"sslmode": "PGSSLMODE"}
"""Carried over from a DSN when it sets them; the app secret has no such key."""


def pg_env(dsn: str) -> dict[str, str]:
    """``PG*`` variables equivalent to a libpq DSN (URI or keyword form); unset ones are left out."""
    # Not at import time: the Airflow image has no psycopg2, and the DAG imports this module.
    from psycopg2.extensions import parse_dsn  # noqa: PLC0415

    parsed = parse_dsn(dsn)
    return {env: str(parsed[key]) for key, env in (PG_ENV | OPTIONAL_PG_ENV).items() if parsed.get(key)}
