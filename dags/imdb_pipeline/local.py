"""The ``local`` runner: the same commands as the pods, run as local processes.

With ``IMDB_PIPELINE_RUNNER=local`` the whole DAG runs on a laptop or in CI without a
cluster: ``imdb-load`` comes from ``PATH`` (or ``IMDB_LOAD_BIN``), dbt from where
``local_tools.dbt_command`` finds it. The database is whatever ``IMDB_DSN`` or the libpq
``PG*`` variables of the Airflow process point at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from imdb_loader.libpq import pg_env
from imdb_pipeline import config as cfg
from imdb_pipeline.jobs import (
    DBT_SCRIPT,
    DBT_TASK_ID,
    LOAD_JOBS,
    LoadJob,
    dbt_arguments,
    permanent_load_failure,
)
from imdb_pipeline.local_tools import REPO_ROOT, dbt_command
from imdb_pipeline.logs import parse_line


def loader_command() -> str:
    explicit = os.environ.get("IMDB_LOAD_BIN", "").strip()
    found = explicit or shutil.which("imdb-load")
    if not found:
        raise AirflowFailException("imdb-load is not on PATH; install loader/ or set IMDB_LOAD_BIN")
    return found


class SubprocessOperator(BaseOperator):
    """Runs commands as child processes, logging their output at its own level, and stops them on kill."""

    _child: subprocess.Popen[str] | None = None

    def run_logged(self, argv: Sequence[str], env: Mapping[str, str]) -> int:
        """Run ``argv``, copying its output line by line into the task log; return the exit code.

        A JSON line of the loader or dbt is logged at the level it carries (``parse_line``).
        """
        self.log.info("Running: %s", " ".join(argv))
        with subprocess.Popen(
            list(argv),
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as proc:
            self._child = proc
            assert proc.stdout is not None
            for line in proc.stdout:
                level, text = parse_line(line)
                self.log.log(level, "%s", text)
            code = proc.wait()
        self._child = None
        return code

    def on_kill(self) -> None:
        # A timeout or a manual "mark failed" kills the task; take the loader or dbt with it.
        # The loader's lock dies with its connection, and the next load marks the unfinished
        # run abandoned, so a retry can start at once.
        child = self._child
        if child is not None and child.poll() is None:
            self.log.info("Terminating child process %s", child.pid)
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


class LocalLoadOperator(SubprocessOperator):
    """Runs ``imdb-load <dataset>`` locally and returns its JSON summary as the XCom."""

    def __init__(self, *, dataset: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset

    def execute(self, context: Any) -> dict[str, Any]:
        conf = cfg.load(with_variables=True)
        job = next(j for j in LOAD_JOBS if j.dataset.name == self.dataset)
        env = {**os.environ, "IMDB_BASE_URL": conf.base_url, "IMDB_SCHEMA": conf.schema}
        with tempfile.TemporaryDirectory(prefix="imdb-load-") as tmp:
            result_file = Path(tmp) / "result.json"
            code = self.run_logged([loader_command(), *job.arguments(str(result_file))], env)
            permanent = permanent_load_failure(self.dataset, code)
            if permanent:
                raise AirflowFailException(permanent)
            if code != 0:
                raise AirflowException(f"imdb-load {self.dataset} failed with exit code {code}")
            try:
                result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise AirflowException(f"imdb-load {self.dataset}: unreadable result file: {exc}") from exc
        return result


class LocalDbtOperator(SubprocessOperator):
    """Runs ``dbt build`` then ``dbt source freshness`` locally."""

    def execute(self, context: Any) -> None:
        conf = cfg.load(with_variables=True)
        project_dir = conf.dbt_project_dir or str(REPO_ROOT / "dbt")
        target_path = os.environ.get("IMDB_DBT_TARGET_PATH", "").strip() or None
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        dsn = env.get("IMDB_DSN", "").strip()
        if dsn:
            env.update(pg_env(dsn))
        argv = ["/bin/sh", "-c", DBT_SCRIPT, dbt_command(), *dbt_arguments(project_dir, target_path)]
        code = self.run_logged(argv, env)
        if code != 0:
            raise AirflowException(f"dbt failed with exit code {code}")


def load_operator(conf: cfg.PipelineConfig, job: LoadJob, **task_kwargs: Any) -> LocalLoadOperator:
    return LocalLoadOperator(task_id=job.task_id, dataset=job.dataset.name, **task_kwargs)


def dbt_operator(conf: cfg.PipelineConfig, **task_kwargs: Any) -> LocalDbtOperator:
    return LocalDbtOperator(task_id=DBT_TASK_ID, **task_kwargs)
