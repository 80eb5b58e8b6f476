"""Pipeline settings: one object, read from the environment, overridable by Airflow Variables.

Two moments read settings, and they differ on purpose:

* Parse time (the DAG processor, every loop): only environment variables. Reading the
  environment is free; ``Variable.get`` at module level would hit the metadata database on
  every parse, so it never happens here.
* Run time (inside a task): ``load(with_variables=True)`` also consults an Airflow Variable
  of the same name as each environment variable, so an operator can change an image tag or
  the source URL from the UI without redeploying.

Precedence, highest first: Airflow Variable (run time only), environment variable, default.

This module imports nothing from Airflow, so tests and the chart's cross-reference checks can
read ``DEFAULTS`` without an Airflow installation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from imdb_loader.defaults import DEFAULT_BASE_URL, DEFAULT_SCHEMA

RUNNERS = ("kubernetes", "local")
POOL = "imdb_loads"
DAG_ID = "imdb_download_and_load_dag"

SERVICE_ACCOUNT_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
FALLBACK_NAMESPACE = "imdb"

# The warehouse as the cluster names it (docs/contracts.md); used for asset URIs, not for connecting.
WAREHOUSE_ASSET_AUTHORITY = "imdb-warehouse-rw:5432"
WAREHOUSE_DATABASE = "imdb"
MARTS_SCHEMA = "imdb_marts"

# Environment variable -> default. Every name is also the name of the Airflow Variable that
# overrides it at run time. ``IMDB_JOBS_NAMESPACE`` has a computed default (see below).
DEFAULTS: dict[str, str] = {
    "IMDB_PIPELINE_RUNNER": "kubernetes",
    "IMDB_JOBS_NAMESPACE": "",
    "IMDB_LOADER_IMAGE": "imdb-pipeline-loader:latest",
    "IMDB_DBT_IMAGE": "imdb-pipeline-dbt:latest",
    "IMDB_IMAGE_PULL_POLICY": "IfNotPresent",
    "IMDB_JOB_SERVICE_ACCOUNT": "imdb-job",
    "IMDB_DB_SECRET": "imdb-warehouse-app",
    "IMDB_LOADS_POOL_SLOTS": "3",
    "IMDB_BASE_URL": DEFAULT_BASE_URL,
    "IMDB_SCHEMA": DEFAULT_SCHEMA,
    "IMDB_DBT_PROJECT_DIR": "",
    "IMDB_JOB_RUN_AS_USER": "10001",
}

IMAGE_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
# Where the dbt image keeps the project (the image's WORKDIR); the local runner uses <repo>/dbt.
POD_DBT_PROJECT_DIR = "/opt/dbt"


class ConfigError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the setting."""


@dataclass(frozen=True)
class PipelineConfig:
    runner: str
    jobs_namespace: str
    loader_image: str
    dbt_image: str
    image_pull_policy: str
    job_service_account: str
    db_secret: str
    loads_pool_slots: int
    base_url: str
    schema: str
    dbt_project_dir: str
    job_run_as_user: int

    def raw_asset_uri(self, table: str) -> str:
        return f"postgres://{WAREHOUSE_ASSET_AUTHORITY}/{WAREHOUSE_DATABASE}/{self.schema}/{table}"

    @staticmethod
    def mart_asset_uri(mart: str) -> str:
        return f"postgres://{WAREHOUSE_ASSET_AUTHORITY}/{WAREHOUSE_DATABASE}/{MARTS_SCHEMA}/{mart}"


# Field name -> environment variable, in DEFAULTS order.
_ENV_NAMES: dict[str, str] = {
    "runner": "IMDB_PIPELINE_RUNNER",
    "jobs_namespace": "IMDB_JOBS_NAMESPACE",
    "loader_image": "IMDB_LOADER_IMAGE",
    "dbt_image": "IMDB_DBT_IMAGE",
    "image_pull_policy": "IMDB_IMAGE_PULL_POLICY",
    "job_service_account": "IMDB_JOB_SERVICE_ACCOUNT",
    "db_secret": "IMDB_DB_SECRET",
    "loads_pool_slots": "IMDB_LOADS_POOL_SLOTS",
    "base_url": "IMDB_BASE_URL",
    "schema": "IMDB_SCHEMA",
    "dbt_project_dir": "IMDB_DBT_PROJECT_DIR",
    "job_run_as_user": "IMDB_JOB_RUN_AS_USER",
}
assert set(_ENV_NAMES.values()) == set(DEFAULTS), "DEFAULTS and PipelineConfig disagree"
assert {f.name for f in fields(PipelineConfig)} == set(_ENV_NAMES), "PipelineConfig field without env name"

Lookup = Callable[[str], str | None]


def current_namespace(namespace_file: Path | None = None) -> str:
    """The namespace Airflow itself runs in, when it runs in a pod; else ``imdb``."""
    try:
        found = (namespace_file or SERVICE_ACCOUNT_NAMESPACE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return FALLBACK_NAMESPACE
    return found or FALLBACK_NAMESPACE


def variable_lookup() -> Lookup:
    """Read Airflow Variables; only call this inside a running task."""
    from airflow.sdk import Variable

    def lookup(name: str) -> str | None:
        value = Variable.get(name, default=None)
        return None if value is None else str(value)

    return lookup


def load(
    environ: Mapping[str, str] | None = None,
    *,
    with_variables: bool = False,
    overrides: Lookup | None = None,
) -> PipelineConfig:
    """Build the config from ``environ`` (default ``os.environ``), then Variables if asked.

    ``overrides`` replaces the Variable lookup (tests pass a dict's ``get``).
    """
    env = os.environ if environ is None else environ
    lookup = overrides if overrides is not None else (variable_lookup() if with_variables else None)

    def raw(name: str) -> str:
        if lookup is not None:
            value = lookup(name)
            if value is not None and value.strip():
                return value.strip()
        return env.get(name, "").strip() or DEFAULTS[name]

    values: dict[str, str] = {field: raw(env_name) for field, env_name in _ENV_NAMES.items()}
    return PipelineConfig(
        runner=_choice("IMDB_PIPELINE_RUNNER", values["runner"], RUNNERS),
        jobs_namespace=values["jobs_namespace"] or current_namespace(),
        loader_image=values["loader_image"],
        dbt_image=values["dbt_image"],
        image_pull_policy=_choice("IMDB_IMAGE_PULL_POLICY", values["image_pull_policy"], IMAGE_PULL_POLICIES),
        job_service_account=values["job_service_account"],
        db_secret=values["db_secret"],
        loads_pool_slots=_positive_int("IMDB_LOADS_POOL_SLOTS", values["loads_pool_slots"]),
        base_url=values["base_url"],
        schema=values["schema"],
        dbt_project_dir=values["dbt_project_dir"],
        job_run_as_user=_positive_int("IMDB_JOB_RUN_AS_USER", values["job_run_as_user"]),
    )


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(allowed)}")
    return value


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if number < 1:
        raise ConfigError(f"{name}={value!r} must be at least 1")
    return number
