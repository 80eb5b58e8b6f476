"""Run ``imdb_download_and_load_dag`` on this machine with the local runner.

Uses ``airflow dags test`` in a throwaway ``AIRFLOW_HOME`` (sqlite metadata), so no scheduler,
no cluster and no Airflow setup are needed: only this repository's venv (``make setup``) and a
PostgreSQL to load into.

    .venv/bin/python dags/scripts/run_local.py --dsn postgresql://u:pw@localhost/imdb \\
        --base-url http://127.0.0.1:8000/ --runs 2

Exit status: 0 when every run succeeded, 1 when a task failed. ``run()`` is the same as a
function (for ``make demo`` and the tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO_ROOT / "dags"
DAG_ID = "imdb_download_and_load_dag"
POOL = "imdb_loads"
OK_STATES = {"success", "skipped"}


@dataclass
class RunResult:
    run_id: str
    states: dict[str, str | None]
    output: str

    @property
    def ok(self) -> bool:
        return bool(self.states) and all(state in OK_STATES for state in self.states.values())


class LocalRunError(RuntimeError):
    """An ``airflow`` command failed; the message carries its output."""


def airflow_env(airflow_home: Path, dsn: str, base_url: str | None) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "IMDB_PIPELINE_RUNNER": "local",
        "IMDB_DSN": dsn,
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")]),
    }
    if base_url:
        env["IMDB_BASE_URL"] = base_url
    return env


def airflow(env: dict[str, str], *args: str, timeout: float = 1800) -> str:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise LocalRunError(f"airflow {' '.join(args)} exited {proc.returncode}:\n{output[-8000:]}")
    return output


def latest_run_states(db: Path) -> tuple[str, dict[str, str | None]]:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)).fetchone()
        if row is None:
            return "", {}
        states = conn.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (DAG_ID, row[0])
        ).fetchall()
    return row[0], dict(states)


def run(
    dsn: str,
    base_url: str | None = None,
    *,
    runs: int = 1,
    force_dbt: bool = False,
    airflow_home: Path | None = None,
    pool_slots: int | None = None,
) -> list[RunResult]:
    """Run the DAG ``runs`` times; an existing ``airflow_home/airflow.db`` is reused as is.

    The pool gets ``pool_slots`` slots, else ``IMDB_LOADS_POOL_SLOTS``, else 3.
    """
    slots = pool_slots or int(os.environ.get("IMDB_LOADS_POOL_SLOTS", "").strip() or 3)
    home = airflow_home or Path(tempfile.mkdtemp(prefix="imdb-airflow-"))
    home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(home, dsn, base_url)
    if not (home / "airflow.db").exists():
        airflow(env, "db", "migrate")
    airflow(env, "pools", "set", POOL, str(slots), "IMDb loads at once")
    args = ["dags", "test", DAG_ID]
    if force_dbt:
        args += ["--conf", json.dumps({"force_dbt": True})]
    results = []
    for _ in range(runs):
        output = airflow(env, *args)
        run_id, states = latest_run_states(home / "airflow.db")
        results.append(RunResult(run_id=run_id, states=states, output=output))
    if airflow_home is None:
        shutil.rmtree(home, ignore_errors=True)
    return results


def print_states(result: RunResult) -> None:
    print(f"{DAG_ID} {result.run_id}")
    for task_id, state in sorted(result.states.items()):
        print(f"  {task_id:<24} {state}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("IMDB_DSN", ""), help="warehouse DSN [env IMDB_DSN]")
    parser.add_argument("--base-url", default=os.environ.get("IMDB_BASE_URL"), help="IMDb files [env IMDB_BASE_URL]")
    parser.add_argument("--runs", type=int, default=1, help="how many DAG runs, one after the other")
    parser.add_argument("--force-dbt", action="store_true", help="run dbt even if nothing changed")
    parser.add_argument("--airflow-home", type=Path, help="keep Airflow's state here (default: a temp dir)")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("--dsn (or IMDB_DSN) is required")
    try:
        results = run(args.dsn, args.base_url, runs=args.runs, force_dbt=args.force_dbt, airflow_home=args.airflow_home)
    except LocalRunError as exc:
        print(exc, file=sys.stderr)
        return 1
    for result in results:
        print_states(result)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
