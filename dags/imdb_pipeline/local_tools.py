"""Where the local runner, the demo and the tests find dbt: the one home of that rule.

``IMDB_DBT_BIN`` names the executable; else ``$IMDB_DBT_VENV/bin/dbt`` (the Makefile exports
``IMDB_DBT_VENV`` from its ``DBT_VENV`` setting); else the venv ``make setup`` creates,
``<repo>/.venvs/dbt``. No Airflow import, so scripts can use it without one.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DBT_VENV = REPO_ROOT / ".venvs" / "dbt"


def dbt_command() -> str:
    explicit = os.environ.get("IMDB_DBT_BIN", "").strip()
    if explicit:
        return explicit
    venv = os.environ.get("IMDB_DBT_VENV", "").strip()
    return str((Path(venv) if venv else DEFAULT_DBT_VENV) / "bin" / "dbt")
