"""Every KubernetesPodOperator's pod, built without a cluster, is valid and hardened."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from imdb_loader.datasets import DATASETS
from imdb_loader.libpq import PG_ENV

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
KUBERNETES_VERSION = "1.33.0"
# The app secret's keys are libpq's keywords; each pod variable is the keyword's PG* name.
SECRET_KEYS = {env: keyword for keyword, env in PG_ENV.items()}
TASK_IDS = [ds.task_id for ds in DATASETS] + ["dbt_build"]
HEAVY = {ds.task_id for ds in DATASETS if ds.heavy}


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return bag.dags["imdb_download_and_load_dag"]


def pod_dict(task) -> dict:
    from kubernetes.client import ApiClient

    pod = task.build_pod_request_obj(None, dry_run=True)
    return ApiClient().sanitize_for_serialization(pod)


@pytest.fixture(scope="module")
def pods(dag) -> dict[str, dict]:
    return {task_id: pod_dict(dag.get_task(task_id)) for task_id in TASK_IDS}


def main_container(pod: dict) -> dict:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "base")


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_pod_passes_strict_kubernetes_validation(pods, task_id):
    kubernetes_validate.validate(pods[task_id], KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_pod_security(pods, task_id):
    spec = pods[task_id]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "imdb-job"
    assert spec["restartPolicy"] == "Never"
    pod_sc = spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert isinstance(pod_sc["runAsUser"], int) and pod_sc["runAsUser"] > 0
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["containers"], "no containers"
    for container in spec["containers"]:  # including the xcom sidecar
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, container["name"]
        assert sc["runAsNonRoot"] is True, container["name"]
        assert sc["allowPrivilegeEscalation"] is False, container["name"]
        assert sc["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, container["name"]
    tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    mounts = {m["mountPath"]: m["name"] for m in main_container(pods[task_id])["volumeMounts"]}
    assert mounts.get("/tmp") in tmp_volumes  # noqa: S108 (the pod's own emptyDir)


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_database_credentials_come_only_from_the_app_secret(pods, task_id):
    env = main_container(pods[task_id])["env"]
    by_name = {e["name"]: e for e in env}
    for var, key in SECRET_KEYS.items():
        assert by_name[var]["valueFrom"]["secretKeyRef"] == {"name": "imdb-warehouse-app", "key": key}
        assert "value" not in by_name[var]
    # No literal that looks like a credential or DSN.
    for entry in env:
        assert entry["name"] != "IMDB_DSN"
        assert "password" not in str(entry.get("value", "")).lower()


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_resources_labels_and_image(pods, task_id):
    pod = pods[task_id]
    container = main_container(pod)
    resources = container["resources"]
    assert set(resources) == {"requests", "limits"}
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/part-of"] == "imdb-pipeline"
    if task_id == "dbt_build":
        assert labels["app.kubernetes.io/component"] == "dbt"
        assert container["image"] == "imdb-pipeline-dbt:latest"
        assert container["command"][:2] == ["/bin/sh", "-c"]
        assert "freshness" in container["command"][2]
        assert "/tmp/dbt/target" in container["args"]  # noqa: S108
        assert container["args"][container["args"].index("--project-dir") + 1] == "/opt/dbt"
    else:
        assert labels["app.kubernetes.io/component"] == "loader"
        assert container["image"] == "imdb-pipeline-loader:latest"
        assert container["command"] == ["imdb-load"]
        assert container["args"][:1] == [next(ds.name for ds in DATASETS if ds.task_id == task_id)]
        assert "/airflow/xcom/return.json" in container["args"]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert pod["metadata"]["namespace"]


def test_heavy_datasets_get_more_resources(pods):
    def memory_mi(task_id: str) -> int:
        value = main_container(pods[task_id])["resources"]["limits"]["memory"]
        return int(value.removesuffix("Gi")) * 1024 if value.endswith("Gi") else int(value.removesuffix("Mi"))

    assert {"load_title_principals", "load_title_akas"} == HEAVY
    light = set(TASK_IDS) - HEAVY - {"dbt_build"}
    assert min(memory_mi(t) for t in HEAVY) > max(memory_mi(t) for t in light)


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_operator_lifecycle_settings(dag, task_id):
    task = dag.get_task(task_id)
    assert str(task.on_finish_action.value if hasattr(task.on_finish_action, "value") else task.on_finish_action) == (
        "delete_pod"
    )
    assert task.get_logs is True
    assert task.startup_timeout_seconds >= 120
    assert task.do_xcom_push is (task_id != "dbt_build")


def test_run_time_config_overrides_pod_settings(dag):
    """Airflow Variables (here a dict) retarget a task's pod when it runs, not when it is parsed."""
    from imdb_pipeline import config

    task = dag.get_task("load_title_basics")
    overrides = {
        "IMDB_LOADER_IMAGE": "registry.example/imdb-pipeline-loader:1.2.3",
        "IMDB_JOBS_NAMESPACE": "imdb-jobs",
        "IMDB_DB_SECRET": "other-app",
        "IMDB_BASE_URL": "http://mirror.example/",
    }
    task.apply_config(config.load({}, overrides=overrides.get))
    pod = pod_dict(task)
    container = main_container(pod)
    assert container["image"] == overrides["IMDB_LOADER_IMAGE"]
    assert pod["metadata"]["namespace"] == "imdb-jobs"
    env = {e["name"]: e for e in container["env"]}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "other-app"
    assert env["IMDB_BASE_URL"]["value"] == "http://mirror.example/"
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
