"""`make images` without running anything (DRY_RUN=1), and how the stand-in bases are keyed.

No container runs here, so these tests carry no marker: they run everywhere, podman or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.containers.conftest import REPO_ROOT

ABSENT = {"PODMAN": "/nonexistent/podman", "DOCKER": "/nonexistent/docker", "KIND": "/nonexistent/kind"}


def dry_run(**overrides: str) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    variables = {**ABSENT, "DRY_RUN": "1", **overrides}
    done = subprocess.run(
        [make, "--no-print-directory", "-f", "mk/cluster.mk", "images", *(f"{k}={v}" for k, v in variables.items())],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_podman_builds_on_the_host_network_with_each_images_ignore_file_then_loads_an_archive() -> None:
    lines = dry_run(CONTAINER_ENGINE="podman", IMAGE_TAG="t2")
    builds = [line for line in lines if line.startswith("/nonexistent/podman build ")]
    assert len(builds) == 3
    for image, line in zip(("airflow", "loader", "dbt"), builds, strict=True):
        assert f"--file images/{image}/Dockerfile" in line
        assert f"--ignorefile images/{image}/Dockerfile.dockerignore" in line
        assert "--network host" in line and "--pull=never" in line
        assert f"--tag imdb-pipeline-{image}:t2" in line
        assert "--build-arg PYTHON_IMAGE=docker.io/library/python:3.11.14-slim-trixie" in line
    assert "--build-arg AIRFLOW_IMAGE=docker.io/apache/airflow:3.3.2-python3.11" in builds[0]
    save = next(i for i, line in enumerate(lines) if " save --multi-image-archive " in line)
    load = next(i for i, line in enumerate(lines) if "/nonexistent/kind load image-archive --name imdb" in line)
    assert lines.index(builds[-1]) < save < load


def test_nothing_is_loaded_with_image_load_none() -> None:
    lines = dry_run(CONTAINER_ENGINE="podman", IMAGE_LOAD="none")
    assert not [line for line in lines if " load " in line or " save " in line]


def test_a_ca_bundle_is_mounted_for_the_build_only_when_pip_is_told_to_use_one(tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a real certificate\n", encoding="utf-8")
    script = REPO_ROOT / "images" / "build.py"
    args = [sys.executable, str(script), "--engine", "podman", "--podman", "/nonexistent/podman", "--dry-run"]
    # No pip configuration at all (pip's own convention), then only PIP_CERT.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    without = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "PIP_CERT" not in without and "--volume" not in without
    with_ca = subprocess.run(
        args, env={**env, "PIP_CERT": str(bundle)}, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert f"--volume {bundle}:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt" in with_ca


STANDIN_REFS = """
import sys
sys.path.insert(0, sys.argv[1])
import standin
print(standin.python_ref("python:3.11.14-slim-trixie"))
print(standin.airflow_prefix("apache/airflow:3.3.2-python3.11", "localhost/standin/python:x"))
print(standin.airflow_prefix("apache/airflow:3.3.2-python3.11", "localhost/standin/python:y"))
"""


def test_stand_in_tags_carry_a_hash_of_their_inputs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", STANDIN_REFS, str(REPO_ROOT / "images")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    python, airflow_x, airflow_y = done.stdout.split()
    assert python.startswith("localhost/standin/python:3.11-bookworm-")
    assert airflow_x.startswith("localhost/standin/airflow:3.3.2-python3.11-")
    assert airflow_x != airflow_y, "a different python base must give a different Airflow stand-in"
    again = subprocess.run(
        [sys.executable, "-c", STANDIN_REFS, str(REPO_ROOT / "images")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert again.stdout.split() == [python, airflow_x, airflow_y], "the same inputs must give the same tags"


PINS = r"""
import sys
sys.path.insert(0, sys.argv[1])
import standin
lock = "Flask_Babel==4.0.0\napache-airflow[cncf]==3.3.2 ; python_version >= '3.10'\n# c==1\n-e ./x\n"
print(sorted(standin.pins(lock).items()))
"""


def test_lock_and_freeze_pins_are_compared_by_pips_normalised_names() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PINS, str(REPO_ROOT / "images")], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[('apache-airflow', '3.3.2'), ('flask-babel', '4.0.0')]"
