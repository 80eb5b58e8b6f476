"""k8s/airflow-values.yaml (+ the cloud overlay) against the official chart 1.22 values schema,
and every name it takes from our chart checked against what our chart renders."""

from __future__ import annotations

import re
import shlex
from typing import Any

import jsonschema
import pytest

from tests.k8s.helpers import K8S_DIR, REPO_ROOT, load_document, load_yaml, one, schema_path

VALUES_FILES = ["airflow-values.yaml", "airflow-values-cloud.yaml"]


@pytest.fixture(scope="module")
def airflow_schema() -> dict[str, Any]:
    path, why = schema_path("airflow-chart-1.22-values.schema.json")
    if path is None:
        pytest.skip(why)
    return dict(load_document(path))


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return dict(load_yaml(K8S_DIR / "airflow-values.yaml"))


def schema_errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '<top>'}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(document)
    ]
    # The chart's schema allows unknown top-level keys; a typo there would be silently ignored.
    errors += [f"{key}: unknown top-level key" for key in document if key not in schema["properties"]]
    return errors


@pytest.mark.parametrize("name", VALUES_FILES)
def test_values_match_the_chart_schema(airflow_schema: dict[str, Any], name: str) -> None:
    assert schema_errors(airflow_schema, dict(load_yaml(K8S_DIR / name))) == []


def test_schema_check_catches_typos(airflow_schema: dict[str, Any], values: dict[str, Any]) -> None:
    assert schema_errors(airflow_schema, {**values, "executer": "LocalExecutor"})
    assert schema_errors(airflow_schema, {**values, "logs": {"persistence": {"enabeld": False}}})


def test_executor_choice(values: dict[str, Any]) -> None:
    assert values["executor"] == "LocalExecutor"
    assert load_yaml(K8S_DIR / "airflow-values-cloud.yaml")["executor"] == "KubernetesExecutor"


def test_no_bundled_databases_or_rwx_volumes(values: dict[str, Any]) -> None:
    assert values["postgresql"]["enabled"] is False
    assert values["logs"]["persistence"]["enabled"] is False
    assert values["triggerer"]["persistence"]["enabled"] is False
    assert values["workers"]["celery"]["persistence"]["enabled"] is False
    assert values["dags"]["persistence"]["enabled"] is False


def test_our_image(values: dict[str, Any]) -> None:
    assert values["images"]["airflow"]["repository"] == "imdb-pipeline-airflow"
    assert values["defaultAirflowRepository"] == "imdb-pipeline-airflow"
    assert values["airflowVersion"] == "3.3.2"


def test_default_user_comes_from_a_secret(values: dict[str, Any], default_objects: list[dict[str, Any]]) -> None:
    job = values["createUserJob"]
    assert "defaultUser" not in job or "password" not in job["defaultUser"], "no password in values"
    words = shlex.split(job["args"][-1])
    assert words[words.index("--password") + 1] == "$IMDB_ADMIN_PASSWORD"
    assert words[words.index("--username") + 1] == "$IMDB_ADMIN_USERNAME"
    for env in job["env"]:
        ref = env["valueFrom"]["secretKeyRef"]
        secret = one(default_objects, "Secret", ref["name"])
        assert ref["key"] in secret["stringData"], f"{ref} missing in our chart"
        assert f"${env['name']}" in job["args"][-1]


def test_pool_is_created_with_the_configured_slots(
    values: dict[str, Any], default_objects: list[dict[str, Any]]
) -> None:
    dag_config = (REPO_ROOT / "dags" / "imdb_pipeline" / "config.py").read_text(encoding="utf-8")
    pool = re.search(r'^POOL = "([^"]+)"', dag_config, re.MULTILINE)
    assert pool, "the DAG no longer names its pool in config.POOL"
    words = shlex.split(values["createUserJob"]["args"][-1])
    at = words.index("pools")
    assert words[at : at + 4] == ["pools", "set", pool.group(1), "$IMDB_LOADS_POOL_SLOTS"]
    assert values["createUserJob"]["applyCustomEnv"] is True, "the ConfigMap must reach the hook"
    assert "IMDB_LOADS_POOL_SLOTS" in one(default_objects, "ConfigMap", "imdb-pipeline-config")["data"]


def test_secrets_it_names_exist_in_our_chart(values: dict[str, Any], default_objects: list[dict[str, Any]]) -> None:
    metadata = one(default_objects, "Secret", values["data"]["metadataSecretName"])
    assert metadata["stringData"]["connection"].startswith("postgresql://")
    for value_key, secret_key in (
        ("fernetKeySecretName", "fernet-key"),
        ("jwtSecretName", "jwt-secret"),
        ("apiSecretKeySecretName", "api-secret-key"),
    ):
        assert secret_key in one(default_objects, "Secret", values[value_key])["stringData"]


def test_config_maps_it_names_exist_in_our_chart(values: dict[str, Any], default_objects: list[dict[str, Any]]) -> None:
    env_from = load_yaml_string(values["extraEnvFrom"])
    assert one(default_objects, "ConfigMap", env_from[0]["configMapRef"]["name"])
    api = values["apiServer"]
    assert "apiServerConfigConfigMapName" not in api, "webserver_config.py has one home: the image"
    volume = api["extraVolumes"][0]["configMap"]
    config = one(default_objects, "ConfigMap", volume["name"])
    assert {item["key"] for item in volume["items"]} <= set(config["data"])
    mount = api["extraVolumeMounts"][0]["mountPath"]
    permissions_env = {e["name"]: e["value"] for e in api["env"]}["IMDB_DAG_PERMISSIONS_FILE"]
    assert permissions_env == f"{mount}/{volume['items'][0]['path']}"


def test_rbac_covers_its_service_accounts(values: dict[str, Any], default_objects: list[dict[str, Any]]) -> None:
    binding = one(default_objects, "RoleBinding", "imdb-pipeline-pod-launcher")
    bound = {s["name"] for s in binding["subjects"]}
    launchers = {values[c]["serviceAccount"]["name"] for c in ("scheduler", "workers", "triggerer")}
    assert launchers <= bound


def test_api_server_node_port_is_the_one_kind_maps(values: dict[str, Any]) -> None:
    kind = load_yaml(K8S_DIR / "kind-config.yaml")
    mapping = kind["nodes"][0]["extraPortMappings"][0]
    port = values["apiServer"]["service"]["ports"][0]
    assert (mapping["hostPort"], mapping["containerPort"]) == (8080, port["nodePort"])
    assert values["apiServer"]["service"]["type"] == "NodePort"


def test_fab_auth_manager(values: dict[str, Any]) -> None:
    assert values["config"]["core"]["auth_manager"].endswith("FabAuthManager")


def test_pods_are_hardened(values: dict[str, Any]) -> None:
    pod, container = values["securityContexts"]["pod"], values["securityContexts"]["containers"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in values["volumeMounts"]  # noqa: S108 (an emptyDir)


def load_yaml_string(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)
