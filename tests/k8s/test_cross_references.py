"""Names that the DAG, the images, skaffold, the Airflow values and our chart must agree on.
The DAG side is read from its own modules (dags/imdb_pipeline/config.py imports nothing from
Airflow; kubernetes.py is read with ast, so Airflow need not be imported)."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from imdb_loader.datasets import DATASETS
from imdb_loader.libpq import PG_ENV
from tests.k8s.conftest import EXTRAS_VALUES
from tests.k8s.helpers import CHART_DIR, REPO_ROOT, load_yaml, one, render_chart

DAG_PACKAGE = REPO_ROOT / "dags" / "imdb_pipeline"
# DAG settings whose defaults are right for pods and that the chart leaves alone.
DAG_ONLY_SETTINGS = {"IMDB_DBT_PROJECT_DIR"}
# Set by the chart only when a value asks for it; else the DAG takes the loader's defaults.
LOADER_DEFAULT_SETTINGS = {"IMDB_BASE_URL": "baseUrl", "IMDB_SCHEMA": "rawSchema"}


def load_module(path: Path, name: str) -> ModuleType:
    assert path.exists(), f"{path.relative_to(REPO_ROOT)} is missing: the cross-checks need it"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def module_constant(path: Path, name: str) -> Any:
    """A literal constant of a module, without importing it."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {path}")


@pytest.fixture(scope="module")
def dag_config() -> ModuleType:
    return load_module(DAG_PACKAGE / "config.py", "imdb_pipeline_config_under_test")


@pytest.fixture(scope="module")
def pipeline_config() -> dict[str, str]:
    return dict(one(render_chart(), "ConfigMap", "imdb-pipeline-config")["data"])


def image_repository(reference: str) -> str:
    return re.split(r"[@:]", reference.rsplit("/", 1)[-1], maxsplit=1)[0]


def test_config_map_speaks_the_dags_language(dag_config: ModuleType, pipeline_config: dict[str, str]) -> None:
    dag_settings = set(dag_config.DEFAULTS)
    assert set(pipeline_config) <= dag_settings, "the DAG would ignore these"
    unset = dag_settings - DAG_ONLY_SETTINGS - set(LOADER_DEFAULT_SETTINGS)
    assert unset <= set(pipeline_config), "the chart does not set these"
    dag_config.load(pipeline_config)  # the DAG accepts every value the chart renders


def test_the_loaders_defaults_are_not_restated(dag_config: ModuleType, pipeline_config: dict[str, str]) -> None:
    assert not set(LOADER_DEFAULT_SETTINGS) & set(pipeline_config), "left out: the DAG uses the loader's defaults"
    chosen = {"baseUrl": "http://mirror.example/imdb/", "rawSchema": "imdb_raw_test"}
    rendered = dict(one(render_chart({"pipeline": chosen}), "ConfigMap", "imdb-pipeline-config")["data"])
    for name, key in LOADER_DEFAULT_SETTINGS.items():
        assert rendered[name] == chosen[key], name
    conf = dag_config.load(rendered)
    assert (conf.base_url, conf.schema) == (chosen["baseUrl"], chosen["rawSchema"])


def test_contract_defaults_agree(dag_config: ModuleType, pipeline_config: dict[str, str]) -> None:
    for name in ("IMDB_JOB_SERVICE_ACCOUNT", "IMDB_DB_SECRET", "IMDB_PIPELINE_RUNNER"):
        assert pipeline_config[name] == dag_config.DEFAULTS[name], name
    assert pipeline_config["IMDB_JOB_RUN_AS_USER"] == dag_config.DEFAULTS["IMDB_JOB_RUN_AS_USER"]


def test_db_secret_has_every_key_the_pods_map(pipeline_config: dict[str, str]) -> None:
    objects = render_chart()
    secret = one(objects, "Secret", pipeline_config["IMDB_DB_SECRET"])
    assert set(PG_ENV) <= set(secret["stringData"]), "the pods map libpq's keywords from the app secret"
    assert secret["metadata"]["namespace"] == pipeline_config["IMDB_JOBS_NAMESPACE"]


@pytest.mark.parametrize("values", [{}, EXTRAS_VALUES], ids=["shared-namespace", "jobs-namespace"])
def test_namespaces_agree(values: dict[str, Any]) -> None:
    objects = render_chart(values)
    jobs_namespace = one(objects, "ConfigMap", "imdb-pipeline-config")["data"]["IMDB_JOBS_NAMESPACE"]
    service_account = one(objects, "ServiceAccount", "imdb-job")
    assert service_account["metadata"]["namespace"] == jobs_namespace
    for kind in ("Role", "RoleBinding"):
        assert one(objects, kind, "imdb-pipeline-pod-launcher")["metadata"]["namespace"] == jobs_namespace
    assert one(objects, "NetworkPolicy", "imdb-jobs-default-deny")["metadata"]["namespace"] == jobs_namespace
    secrets = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "imdb-warehouse-app"]
    assert jobs_namespace in {s["metadata"]["namespace"] for s in secrets}, "job pods could not read the secret"


def test_service_account_and_labels_match_the_pods(pipeline_config: dict[str, str]) -> None:
    part_of = module_constant(DAG_PACKAGE / "kubernetes.py", "PART_OF")
    objects = render_chart()
    sa = one(objects, "ServiceAccount", pipeline_config["IMDB_JOB_SERVICE_ACCOUNT"])
    assert sa["automountServiceAccountToken"] is False
    loader_policy = one(objects, "NetworkPolicy", "imdb-loader-egress")
    assert loader_policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/part-of"] == part_of


def test_image_repositories_agree(dag_config: ModuleType, pipeline_config: dict[str, str]) -> None:
    skaffold = load_yaml(REPO_ROOT / "skaffold.yaml")
    artifacts = {a["image"] for a in skaffold["build"]["artifacts"]}
    chart_values = load_yaml(CHART_DIR / "values.yaml")
    airflow_values = load_yaml(REPO_ROOT / "k8s" / "airflow-values.yaml")
    for component in ("loader", "dbt"):
        setting = f"IMDB_{component.upper()}_IMAGE"
        repository = chart_values["images"][component]["repository"]
        assert repository in artifacts
        assert image_repository(pipeline_config[setting]) == repository
        assert image_repository(dag_config.DEFAULTS[setting]) == repository
    assert airflow_values["images"]["airflow"]["repository"] in artifacts


def test_job_uid_matches_the_images(dag_config: ModuleType) -> None:
    uid = str(load_yaml(CHART_DIR / "values.yaml")["jobs"]["runAsUser"])
    assert dag_config.DEFAULTS["IMDB_JOB_RUN_AS_USER"] == uid
    for image in ("loader", "dbt"):
        text = (REPO_ROOT / "images" / image / "Dockerfile").read_text(encoding="utf-8")
        assert re.findall(r"^USER (\d+)", text, re.MULTILINE)[-1] == uid, image


def test_dbt_project_dir_matches_the_image(dag_config: ModuleType) -> None:
    text = (REPO_ROOT / "images" / "dbt" / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"^WORKDIR (\S+)", text, re.MULTILINE)[-1] == dag_config.POD_DBT_PROJECT_DIR


def test_helm_test_finds_raw_tables_by_the_registrys_rule() -> None:
    """The helm test reads what was loaded from load_runs and names each table as the registry does."""
    job = one(render_chart(), "Job", "imdb-pipeline-test-warehouse")
    sql = " ".join(job["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "replace(run.dataset, '.', '_')" in sql and "load_runs" in sql
    assert all(dataset.table == dataset.name.replace(".", "_") for dataset in DATASETS)


def test_webserver_config_has_one_home() -> None:
    """airflow/webserver_config.py, baked into the image; no copy in the chart to drift from it."""
    assert (REPO_ROOT / "airflow" / "webserver_config.py").exists()
    assert not list(CHART_DIR.rglob("webserver_config.py"))


def test_rendered_dag_permissions_parse_with_the_security_manager() -> None:
    sys.path.insert(0, str(REPO_ROOT / "airflow"))
    try:
        permissions_file = load_module(
            REPO_ROOT / "airflow" / "imdb_security" / "permissions_file.py", "imdb_permissions_file_under_test"
        )
    finally:
        sys.path.remove(str(REPO_ROOT / "airflow"))
    for values in ({}, EXTRAS_VALUES):
        text = one(render_chart(values), "ConfigMap", "imdb-airflow-api-server-config")["data"]["dag_permissions.json"]
        parsed = permissions_file.parse(text, source="dag_permissions.json")
        assert parsed.version == 2
    parsed = permissions_file.parse(text)
    assert parsed.dags_for("bob")["imdb_download_and_load_dag"] >= {"read", "trigger"}


def test_labels_use_only_contract_components(rendered_sets: dict[str, list[dict[str, Any]]]) -> None:
    """CONTRACTS.md: app.kubernetes.io/component is one of loader, dbt, warehouse, airflow."""
    allowed = {"loader", "dbt", "warehouse", "airflow"}
    for objects in rendered_sets.values():
        for obj in objects:
            labels = [obj["metadata"].get("labels") or {}]
            template = obj.get("spec", {}).get("template", {})
            labels.append(template.get("metadata", {}).get("labels") or {})
            labels.append(obj.get("spec", {}).get("inheritedMetadata", {}).get("labels") or {})
            for found in labels:
                if "app.kubernetes.io/component" in found:
                    assert found["app.kubernetes.io/part-of"] == "imdb-pipeline"
                    assert found["app.kubernetes.io/component"] in allowed, obj["metadata"]["name"]
