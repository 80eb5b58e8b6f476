"""skaffold.yaml: valid v4beta13, the three contract artifacts, releases in order with pinned
charts, image values wired from the builds, kube-context profiles, the 8080 port-forward."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest

from tests.k8s.helpers import REPO_ROOT, load_document, load_yaml, schema_path

ARTIFACTS = ["imdb-pipeline-airflow", "imdb-pipeline-loader", "imdb-pipeline-dbt"]


@pytest.fixture(scope="module")
def skaffold() -> dict[str, Any]:
    return dict(load_yaml(REPO_ROOT / "skaffold.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    path, why = schema_path("skaffold-v4beta13.schema.json")
    if path is None:
        pytest.skip(why)
    return jsonschema.Draft7Validator(load_document(path))


def releases(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in config["deploy"]["helm"]["releases"]}


def mk_var(name: str) -> str:
    text = (REPO_ROOT / "mk" / "cluster.mk").read_text(encoding="utf-8")
    match = re.search(rf"^{name} \?= (\S+?)(#.*)?$", text, re.MULTILINE)
    assert match, f"{name} not set in mk/cluster.mk"
    return match.group(1)


def test_schema(skaffold: dict[str, Any], validator: jsonschema.Draft7Validator) -> None:
    assert skaffold["apiVersion"] == "skaffold/v4beta13"
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(skaffold)]
    assert errors == []


def test_schema_catches_typos(skaffold: dict[str, Any], validator: jsonschema.Draft7Validator) -> None:
    broken = copy.deepcopy(skaffold)
    broken["deploy"]["helm"]["releases"][0]["valueFiles"] = ["x.yaml"]
    assert list(validator.iter_errors(broken))


def test_artifacts(skaffold: dict[str, Any]) -> None:
    artifacts = skaffold["build"]["artifacts"]
    assert [a["image"] for a in artifacts] == ARTIFACTS
    for artifact in artifacts:
        name = artifact["image"].removeprefix("imdb-pipeline-")
        assert artifact.get("context", ".") == "."
        assert artifact["docker"]["dockerfile"] == f"images/{name}/Dockerfile"
        assert (REPO_ROOT / artifact["docker"]["dockerfile"]).is_file()


def test_releases_in_order_with_pinned_charts(skaffold: dict[str, Any]) -> None:
    by_name = releases(skaffold)
    assert list(by_name) == ["cnpg", "imdb-pipeline", "airflow"]
    assert by_name["imdb-pipeline"]["dependsOn"] == ["cnpg"]
    assert by_name["airflow"]["dependsOn"] == ["imdb-pipeline"]
    assert by_name["cnpg"]["version"] == mk_var("CNPG_CHART_VERSION")
    assert by_name["airflow"]["version"] == mk_var("AIRFLOW_CHART_VERSION")
    assert by_name["cnpg"]["wait"] is True
    assert by_name["imdb-pipeline"]["namespace"] == by_name["airflow"]["namespace"] == mk_var("NAMESPACE")
    assert (REPO_ROOT / by_name["imdb-pipeline"]["chartPath"] / "Chart.yaml").is_file()


def test_image_values_come_from_the_builds(skaffold: dict[str, Any]) -> None:
    by_name = releases(skaffold)
    wired = {**by_name["imdb-pipeline"]["setValueTemplates"], **by_name["airflow"]["setValueTemplates"]}
    for artifact in ARTIFACTS:
        short, var = artifact.removeprefix("imdb-pipeline-"), artifact.replace("-", "_")
        assert wired[f"images.{short}.repository"] == f"{{{{.IMAGE_REPO_{var}}}}}"
        assert wired[f"images.{short}.tag"] == f"{{{{.IMAGE_TAG_{var}}}}}"


def test_every_values_file_exists(skaffold: dict[str, Any]) -> None:
    files = [f for r in skaffold["deploy"]["helm"]["releases"] for f in r.get("valuesFiles", [])]
    for profile in skaffold["profiles"]:
        for patch in profile.get("patches", []):
            if "valuesFiles" in patch["path"]:
                value = patch["value"]
                files += value if isinstance(value, list) else [value]
    assert files
    missing = [f for f in files if not (REPO_ROOT / f).is_file()]
    assert missing == []


def test_profiles(skaffold: dict[str, Any]) -> None:
    profiles = {p["name"]: p for p in skaffold["profiles"]}
    assert set(profiles) == {"kind", "minikube", "cloud"}
    assert profiles["kind"]["activation"] == [{"kubeContext": f"kind-{mk_var('KIND_CLUSTER')}"}]
    assert profiles["minikube"]["activation"] == [{"kubeContext": "minikube"}]
    assert profiles["kind"]["build"]["local"]["push"] is False
    assert profiles["minikube"]["build"]["local"]["push"] is False
    assert profiles["cloud"]["build"]["local"]["push"] is True


def test_port_forward_8080(skaffold: dict[str, Any]) -> None:
    forward = skaffold["portForward"][0]
    assert (forward["resourceType"], forward["resourceName"]) == ("service", "airflow-api-server")
    assert forward["port"] == forward["localPort"] == 8080
    assert forward["namespace"] == releases(skaffold)["airflow"]["namespace"]
