"""The pipeline config: defaults, environment, Variable precedence, and clear errors."""

from __future__ import annotations

import pytest
from imdb_pipeline import config


def test_defaults_without_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "SERVICE_ACCOUNT_NAMESPACE_FILE", tmp_path / "absent")
    conf = config.load({})
    assert conf.runner == "kubernetes"
    assert conf.jobs_namespace == "imdb"
    assert conf.loader_image == "imdb-pipeline-loader:latest"
    assert conf.dbt_image == "imdb-pipeline-dbt:latest"
    assert conf.image_pull_policy == "IfNotPresent"
    assert conf.job_service_account == "imdb-job"
    assert conf.db_secret == "imdb-warehouse-app"
    assert conf.loads_pool_slots == 3
    assert conf.base_url == "https://datasets.imdbws.com/"
    assert conf.schema == "imdb_raw"


def test_namespace_defaults_to_the_pods_own(tmp_path):
    ns_file = tmp_path / "namespace"
    ns_file.write_text("airflow-prod\n")
    assert config.current_namespace(ns_file) == "airflow-prod"
    assert config.current_namespace(tmp_path / "missing") == "imdb"


def test_variables_win_over_environment_which_wins_over_defaults():
    env = {"IMDB_LOADER_IMAGE": "from-env:1", "IMDB_SCHEMA": "raw_env", "IMDB_JOBS_NAMESPACE": "ns"}
    variables = {"IMDB_LOADER_IMAGE": "from-variable:2", "IMDB_SCHEMA": "  "}
    conf = config.load(env, overrides=variables.get)
    assert conf.loader_image == "from-variable:2"
    assert conf.schema == "raw_env", "a blank Variable must not blank out the setting"
    assert conf.dbt_image == "imdb-pipeline-dbt:latest"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IMDB_PIPELINE_RUNNER": "docker"}, "IMDB_PIPELINE_RUNNER='docker' is not one of: kubernetes, local"),
        ({"IMDB_IMAGE_PULL_POLICY": "sometimes"}, "IMDB_IMAGE_PULL_POLICY='sometimes'"),
        ({"IMDB_LOADS_POOL_SLOTS": "three"}, "IMDB_LOADS_POOL_SLOTS='three' is not a whole number"),
        ({"IMDB_LOADS_POOL_SLOTS": "0"}, "IMDB_LOADS_POOL_SLOTS='0' must be at least 1"),
    ],
)
def test_bad_values_name_the_setting(env, message):
    with pytest.raises(config.ConfigError, match=message.replace("(", r"\(")):
        config.load({"IMDB_JOBS_NAMESPACE": "x", **env})


def test_asset_uris_follow_the_contract():
    conf = config.load({"IMDB_JOBS_NAMESPACE": "x"})
    assert conf.raw_asset_uri("title_basics") == "postgres://imdb-warehouse-rw:5432/imdb/imdb_raw/title_basics"
    assert conf.mart_asset_uri("dim_titles") == "postgres://imdb-warehouse-rw:5432/imdb/imdb_marts/dim_titles"
