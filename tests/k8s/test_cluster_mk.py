"""mk/cluster.mk: every target documented for `make help`, DRY_RUN=1 prints and runs nothing,
`deploy` installs the operator, our chart and Airflow in that order with the pinned versions."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.k8s.helpers import REPO_ROOT, load_yaml

FRAGMENT = REPO_ROOT / "mk" / "cluster.mk"
TARGETS = ["cluster", "cluster-down", "images", "deploy", "dev", "trigger", "ui", "logs", "destroy"]
# Tools that must not run in a dry run: point them at something that does not exist.
ABSENT_TOOLS = {name: "/nonexistent/" + name.lower() for name in ("HELM", "KUBECTL", "KIND", "SKAFFOLD", "DOCKER")}


def dry_run(*targets: str, **overrides: str) -> str:
    make = shutil.which("make")
    assert make is not None, "make is the front door: install it (apt-get install make)"
    # The docker path: on machines with podman, auto would pick podman (tests/containers checks that path).
    variables = {**ABSENT_TOOLS, "CONTAINER_ENGINE": "docker", "DRY_RUN": "1", **overrides}
    result = subprocess.run(
        [make, "--no-print-directory", "--warn-undefined-variables", "-f", str(FRAGMENT), *targets]
        + [f"{k}={v}" for k, v in variables.items()],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
    return result.stdout


def test_every_target_has_help_and_a_section() -> None:
    text = FRAGMENT.read_text(encoding="utf-8")
    assert re.search(r"^##@ Cluster", text, re.MULTILINE)
    documented = set(re.findall(r"^([a-z-]+):.*?## \S", text, re.MULTILINE))
    assert set(TARGETS) <= documented


@pytest.mark.parametrize("target", TARGETS)
def test_dry_run_prints_commands(target: str) -> None:
    output = dry_run(target)
    assert output.strip(), f"{target}: printed nothing"


def test_deploy_order_and_pins() -> None:
    lines = dry_run("deploy", IMAGE_TAG="t1").splitlines()
    skaffold = {r["name"]: r for r in load_yaml(REPO_ROOT / "skaffold.yaml")["deploy"]["helm"]["releases"]}

    def index(fragment: str) -> int:
        return next(i for i, line in enumerate(lines) if fragment in line)

    builds = [i for i, line in enumerate(lines) if " build " in line]
    cnpg = index("upgrade --install cnpg cnpg/cloudnative-pg")
    chart = index("upgrade --install imdb-pipeline charts/imdb-pipeline")
    wait = index("wait clusters.postgresql.cnpg.io/imdb-warehouse clusters.postgresql.cnpg.io/airflow-metadata")
    airflow = index("upgrade --install airflow apache-airflow/airflow")
    assert len(builds) == 3 and max(builds) < index("kind load docker-image") < cnpg < chart < wait < airflow
    assert f"--version {skaffold['cnpg']['version']}" in lines[cnpg]
    assert f"--version {skaffold['airflow']['version']}" in lines[airflow]
    assert "--wait" in lines[cnpg] and "--wait" in lines[chart] and "--wait" in lines[airflow]
    assert "images.loader.tag=t1" in lines[chart] and "images.airflow.tag=t1" in lines[airflow]


def test_overrides_reach_the_commands() -> None:
    output = dry_run("trigger", "destroy", NAMESPACE="other", KUBE_CONTEXT="ctx")
    assert "--context ctx --namespace other exec deploy/airflow-scheduler" in output
    assert "airflow dags trigger imdb_download_and_load_dag" in output
    assert "delete namespace other" in output


def test_minikube_loads_into_minikube() -> None:
    output = dry_run("images", IMAGE_LOAD="minikube")
    assert "minikube image load" in output and "kind load" not in output


def test_make_help_lists_the_cluster_targets() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^-?include .*mk/(cluster|\*)\.mk", makefile, re.MULTILINE), "the Makefile must include mk/"
    result = subprocess.run(["make", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert "Cluster" in plain
    listed = set(re.findall(r"^\s+([a-z-]+)\s", plain, re.MULTILINE))
    assert set(TARGETS) <= listed, f"missing from make help: {sorted(set(TARGETS) - listed)}"
