"""helm lint --strict under the defaults and every example values file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.k8s.helpers import CHART_DIR, KUBE_VERSION, NAMESPACE, VALUE_SETS, run_helm


@pytest.mark.parametrize("files", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_helm_lint_strict(files: tuple[Path, ...]) -> None:
    args = ["lint", "--strict", str(CHART_DIR), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    for values_file in files:
        args += ["--values", str(values_file)]
    result = run_helm(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


def test_chart_metadata() -> None:
    import yaml

    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "imdb-pipeline"
    assert chart["kubeVersion"] == ">=1.29.0-0"


def test_examples_cover_kind_minikube_and_cloud() -> None:
    names = {p.name for p in (CHART_DIR / "examples").glob("*.yaml")}
    assert {"kind-values.yaml", "minikube-values.yaml", "cloud-values.yaml"} <= names
