"""k8s/kind-config.yaml and the CloudNativePG operator's install values."""

from __future__ import annotations

import re

from tests.k8s.helpers import K8S_DIR, KUBE_VERSION, load_yaml


def test_kind_has_a_worker_and_maps_8080() -> None:
    config = load_yaml(K8S_DIR / "kind-config.yaml")
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker"]
    ports = config["nodes"][0]["extraPortMappings"]
    assert any(p["hostPort"] == 8080 for p in ports)


def test_kind_node_version_is_the_validated_one() -> None:
    major_minor = ".".join(KUBE_VERSION.split(".")[:2])
    for node in load_yaml(K8S_DIR / "kind-config.yaml")["nodes"]:
        assert re.fullmatch(rf"kindest/node:v{re.escape(major_minor)}\.\d+(@sha256:[0-9a-f]{{64}})?", node["image"])


def test_operator_values() -> None:
    values = load_yaml(K8S_DIR / "cnpg-values.yaml")
    assert values["crds"]["create"] is True
    assert values["config"]["clusterWide"] is True
    assert values["monitoring"]["podMonitorEnabled"] is False
