"""What each task runs, independent of where it runs.

Both runners (Kubernetes pods and local processes) build their tasks from these job
descriptions, so the two can only differ in *where* a command runs, never in *what* it does.
The dataset list comes from the loader's registry; nothing here restates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from imdb_loader.datasets import DATASETS, Dataset
from imdb_loader.outcome import ExitCode

# Where the loader writes its JSON summary inside a pod: the path the KubernetesPodOperator's
# xcom sidecar reads back (``do_xcom_push=True``).
POD_RESULT_FILE = "/airflow/xcom/return.json"

# Loader exit codes that no retry can fix: bad arguments, the source format changed, too many
# rejected rows. The others (source unavailable, database error, another loader holds the
# dataset, unexpected) are worth a retry. Both runners fail at once on these.
PERMANENT_LOADER_EXIT_CODES: frozenset[ExitCode] = frozenset(
    {ExitCode.BAD_ARGUMENTS, ExitCode.SOURCE_FORMAT_CHANGED, ExitCode.TOO_MANY_REJECTS}
)


def permanent_load_failure(dataset: str, exit_code: int | None) -> str | None:
    """The message to fail a load with, without retry, when ``exit_code`` is permanent; else None."""
    if exit_code not in PERMANENT_LOADER_EXIT_CODES:
        return None
    name = ExitCode(exit_code).name.lower().replace("_", " ")
    return f"imdb-load {dataset} failed with exit code {exit_code} ({name}); no retry can fix that"


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


# Light datasets stream a few hundred MB; title.principals and title.akas are 5-10x larger and
# their index builds need memory (maintenance_work_mem is on the server, but the COPY client
# buffers and gzip need CPU).
LIGHT = Resources(cpu_request="250m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi")
HEAVY = Resources(cpu_request="500m", memory_request="512Mi", cpu_limit="2", memory_limit="2Gi")
DBT = Resources(cpu_request="500m", memory_request="512Mi", cpu_limit="2", memory_limit="2Gi")


@dataclass(frozen=True)
class LoadJob:
    dataset: Dataset

    @property
    def task_id(self) -> str:
        return self.dataset.task_id

    @property
    def resources(self) -> Resources:
        return HEAVY if self.dataset.heavy else LIGHT

    @property
    def execution_timeout(self) -> timedelta:
        return timedelta(hours=4) if self.dataset.heavy else timedelta(hours=2)

    def arguments(self, result_file: str) -> list[str]:
        """Arguments after ``imdb-load``; URL, schema and DSN travel as environment variables."""
        return [self.dataset.name, "--log-format", "json", "--result-file", result_file]


LOAD_JOBS: tuple[LoadJob, ...] = tuple(LoadJob(ds) for ds in DATASETS)

DBT_TASK_ID = "dbt_build"
DBT_EXECUTION_TIMEOUT = timedelta(hours=2)


def dbt_arguments(project_dir: str, target_path: str | None = None, log_path: str | None = None) -> list[str]:
    """Flags shared by ``dbt build`` and ``dbt source freshness``.

    JSON log lines carry dbt's own level, so the task log shows a dbt WARN or error at its level;
    without colours, as a task log shows escape codes as text.
    """
    args = ["--project-dir", project_dir, "--profiles-dir", project_dir, "--log-format", "json", "--no-use-colors"]
    if target_path:
        args += ["--target-path", target_path]
    if log_path:
        args += ["--log-path", log_path]
    return args


# dbt build, then source freshness, in one task. ``sh -c`` with positional parameters keeps the
# flags out of the quoted script, so no value is ever re-parsed by the shell.
DBT_SCRIPT = 'set -e; "$0" build "$@"; "$0" source freshness "$@"'
