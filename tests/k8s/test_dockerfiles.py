"""Focused Dockerfile checks (no hadolint here): pinned bases, numeric non-root USER, multi-stage
builds whose final stage has no compilers, no secrets, an allow-list .dockerignore per image."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.k8s.helpers import REPO_ROOT, load_yaml

IMAGES = ["airflow", "loader", "dbt"]
ENTRYPOINTS = {"loader": '["imdb-load"]', "dbt": '["dbt"]'}
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cmake|apt-get install|apk add|cargo)\b")
SECRETISH = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY)\s*[=\s]", re.IGNORECASE)


@dataclass
class Stage:
    base: str
    name: str | None
    lines: list[str] = field(default_factory=list)


def stages(dockerfile: Path) -> list[Stage]:
    """FROM-separated stages; continuation lines joined, comments dropped, a base given as a
    build argument (``FROM ${PYTHON_IMAGE}``) resolved to that argument's default."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    result: list[Stage] = []
    defaults: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not result and (arg := re.match(r"ARG\s+(\w+)=(\S+)$", line)):
            defaults[arg.group(1)] = arg.group(2)
        elif match := re.match(r"FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE):
            base = re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), match.group(1))
            result.append(Stage(base=base, name=match.group(2)))
        elif result:
            result[-1].lines.append(line)
    return result


def dockerfile(image: str) -> Path:
    return REPO_ROOT / "images" / image / "Dockerfile"


@pytest.mark.parametrize("image", IMAGES)
def test_bases_are_pinned(image: str) -> None:
    local_stages = {s.name for s in stages(dockerfile(image)) if s.name}
    for stage in stages(dockerfile(image)):
        if stage.base in local_stages:
            continue
        assert "$" not in stage.base, f"{stage.base}: a base from a build arg needs a default (ARG NAME=image)"
        assert re.search(r"@sha256:[0-9a-f]{64}$", stage.base) or re.search(r":\d+\.\d+\.\d+[^:]*$", stage.base), (
            f"{stage.base}: pin a full version tag or a digest"
        )


@pytest.mark.parametrize("image", IMAGES)
def test_final_stage_runs_as_numeric_non_root(image: str) -> None:
    users = [line.split()[1] for line in stages(dockerfile(image))[-1].lines if line.upper().startswith("USER ")]
    assert users, "final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: use a numeric non-root uid"


@pytest.mark.parametrize("image", IMAGES)
def test_multi_stage_with_a_clean_final_stage(image: str) -> None:
    all_stages = stages(dockerfile(image))
    assert len(all_stages) >= 2, "build in one stage, run from another"
    for line in all_stages[-1].lines:
        assert not COMPILERS.search(line), f"final stage: {line}"


@pytest.mark.parametrize("image", IMAGES)
def test_no_secrets(image: str) -> None:
    for stage in stages(dockerfile(image)):
        for line in stage.lines:
            if line.upper().startswith(("ENV ", "ARG ", "LABEL ")):
                assert not SECRETISH.search(line), f"secret-looking setting: {line}"
            assert ".env" not in line.split() and "id_rsa" not in line


@pytest.mark.parametrize("image", ["loader", "dbt"])
def test_entrypoint(image: str) -> None:
    final = stages(dockerfile(image))[-1]
    assert f"ENTRYPOINT {ENTRYPOINTS[image]}" in final.lines


@pytest.mark.parametrize("image", IMAGES)
def test_dockerignore_allow_lists_what_is_copied(image: str) -> None:
    ignore = REPO_ROOT / "images" / image / "Dockerfile.dockerignore"
    patterns = [p for p in ignore.read_text(encoding="utf-8").splitlines() if p and not p.startswith("#")]
    assert patterns[0] == "*", "start from nothing, then allow"
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    for stage in stages(dockerfile(image)):
        for line in stage.lines:
            if line.startswith("COPY ") and "--from=" not in line:
                sources = [w for w in line.split()[1:-1] if not w.startswith("--")]
                for source in (s.rstrip("/") for s in sources):
                    assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
                    assert any(source == a or source.startswith(a + "/") for a in allowed), (
                        f"COPY {source}: excluded by {ignore.name}"
                    )


def test_airflow_image_installs_the_pinned_providers_and_the_registry_alone() -> None:
    """Airflow's pins have one home (requirements/airflow.txt), at the official image's version."""
    text = dockerfile("airflow").read_text(encoding="utf-8")
    assert "--requirement /tmp/airflow-requirements.txt" in text
    assert "COPY requirements/airflow.txt /tmp/airflow-requirements.txt" in text
    assert re.search(r"pip install --no-cache-dir --no-deps /wheels/imdb_loader-\*\.whl", text), (
        "the loader wheel must go in without its dependencies: the DAG needs only the registry"
    )
    assert not re.findall(r'"apache-airflow[\w-]*==', text), "pins belong in requirements/airflow.txt"
    pins = dict(
        line.split("==", 1)
        for line in (REPO_ROOT / "requirements" / "airflow.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert {"apache-airflow", "apache-airflow-providers-cncf-kubernetes"} <= set(pins)
    airflow_values = load_yaml(REPO_ROOT / "k8s" / "airflow-values.yaml")
    assert pins["apache-airflow"] == airflow_values["airflowVersion"]
    assert f"apache/airflow:{airflow_values['airflowVersion']}-python" in text


def test_airflow_image_bakes_dags_security_manager_and_config() -> None:
    text = dockerfile("airflow").read_text(encoding="utf-8")
    assert re.search(r"COPY .*dags/ /opt/airflow/dags/", text)
    assert re.search(r"COPY .*airflow/webserver_config.py /opt/airflow/webserver_config.py", text)
    match = re.search(r"COPY .*airflow/imdb_security/ (\S+)/imdb_security/", text)
    assert match, "security manager not copied"
    assert f"PYTHONPATH={match.group(1)}" in text
