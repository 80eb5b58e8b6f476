"""Defaults that other parts share: the DAG's settings take these, so they are written once.

Kept free of imports (no psycopg2, no requests), so that the DAG file, parsed every few
seconds by Airflow, can read them for nothing.
"""

from __future__ import annotations

DEFAULT_BASE_URL = "https://datasets.imdbws.com/"
"""IMDb's own download site; tests and the demo point ``IMDB_BASE_URL`` at a local server."""
DEFAULT_SCHEMA = "imdb_raw"
"""The raw schema: one table per dataset, plus load_runs and load_rejects."""
