"""An isolated Airflow home for the Airflow tests: sqlite metadata, our DAGs folder, FAB auth.

Airflow reads its configuration when first imported, so the environment is set here, at
conftest import, before any test module imports Airflow. The metadata database is migrated
once per session (``airflow_db``) and copied wherever a test needs a clean one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO_ROOT / "dags"
AIRFLOW_PKG_DIR = REPO_ROOT / "airflow"
BIN_DIR = Path(sys.executable).parent

_HOME = Path(tempfile.mkdtemp(prefix="imdb-airflow-home-"))
_DB = _HOME / "airflow.db"
_PRISTINE_DB = _HOME / "pristine.db"

AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_DB}",
    "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    "AIRFLOW__FAB__CONFIG_FILE": str(AIRFLOW_PKG_DIR / "webserver_config.py"),
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "IMDB_PIPELINE_RUNNER": "kubernetes",
}
# Subprocesses (the airflow CLI) find the security manager the way the image does: on PYTHONPATH.
AIRFLOW_ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(AIRFLOW_PKG_DIR), os.environ.get("PYTHONPATH")]))
os.environ.update(AIRFLOW_ENV)
for path in (DAGS_DIR, AIRFLOW_PKG_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def run_airflow(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run the ``airflow`` CLI of this venv; fail the test with its output if it fails."""
    proc = subprocess.run(
        [str(BIN_DIR / "airflow"), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def airflow_cli():
    """``airflow_cli("db", "migrate")``: run the Airflow CLI in this test session's Airflow home."""
    return run_airflow


@pytest.fixture(scope="session")
def airflow_home() -> Iterator[Path]:
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """The session's migrated sqlite metadata database (migrated once per session); its path."""
    run_airflow("db", "migrate")
    shutil.copy2(_DB, _PRISTINE_DB)
    return _DB


@pytest.fixture(scope="session")
def migrated_db_copy(airflow_db: Path) -> Path:
    """A copy of the database as it was right after migration, before any test wrote to it."""
    return _PRISTINE_DB
