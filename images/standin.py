"""Local stand-ins for the two base images, for machines that cannot pull them.

* python:3.11.14-slim-trixie -> a Debian root filesystem from the Debian mirror (mmdebstrap
  --variant=minbase), imported as an image. Debian trixie ships Python 3.13 only, so the
  stand-in is bookworm with Debian's Python 3.11.
* apache/airflow:3.3.2-python3.11 -> images/standin/airflow.Dockerfile on top of that.

Each is tagged localhost/standin/...:<version>-<hash of its inputs>: a rebuild happens only when
an input changes, and an image whose name starts with localhost/standin/ is never pushed by
`make images` (nor by a registry, which would need that host name). The differences from the
real bases are documented in docs/kubernetes.md ("Stand-in bases").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from engine import BUILD_CA_PATH, REPO_ROOT, Engine, EngineName

STANDIN_REPOSITORY = "localhost/standin"
LABEL = "io.imdb-pipeline.standin-for"
MMDEBSTRAP_TIMEOUT_SECONDS = 900
BUILD_TIMEOUT_SECONDS = 1200
STANDIN_DIR = REPO_ROOT / "images" / "standin"
AIRFLOW_DOCKERFILE = STANDIN_DIR / "airflow.Dockerfile"
AIRFLOW_CONSTRAINTS = REPO_ROOT / "requirements" / "dev.lock"

# The newest Debian release with a Python 3.11 (trixie has only 3.13).
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("IMDB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SECURITY_MIRROR = os.environ.get("IMDB_DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
# What python:*-slim has beyond minbase: Python with venv and pip, CA certificates, netbase, tzdata.
PYTHON_PACKAGES = (
    "python3",
    "python3-venv",
    "python3-pip",
    "python-is-python3",
    "ca-certificates",
    "netbase",
    "tzdata",
)
# As Debian's slim images do: no manuals, no translations, documentation only as licences.
DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/info/*",
)
# python:* images install packages with plain pip; Debian marks its Python as managed by apt.
CUSTOMIZE_HOOKS = ('rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',)
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:12]


def debian_sources() -> list[str]:
    return [
        f"deb {DEBIAN_MIRROR} {DEBIAN_SUITE} main",
        f"deb {DEBIAN_MIRROR} {DEBIAN_SUITE}-updates main",
        f"deb {DEBIAN_SECURITY_MIRROR} {DEBIAN_SUITE}-security main",
    ]


def image_changes(real: str) -> list[str]:
    return [*IMAGE_CHANGES, f"LABEL {LABEL}={real}"]


def python_recipe(real: str) -> dict[str, object]:
    """Everything the python stand-in is made from; its hash is in the tag."""
    return {
        "suite": DEBIAN_SUITE,
        "sources": debian_sources(),
        "packages": list(PYTHON_PACKAGES),
        "dpkg": list(DPKG_OPTIONS),
        "hooks": list(CUSTOMIZE_HOOKS),
        "changes": image_changes(real),
    }


def python_ref(real: str) -> str:
    recipe = json.dumps(python_recipe(real), sort_keys=True).encode()
    return f"{STANDIN_REPOSITORY}/python:3.11-{DEBIAN_SUITE}-{_digest(recipe)}"


def airflow_ref(real: str, python: str) -> str:
    ignore = AIRFLOW_DOCKERFILE.with_name(AIRFLOW_DOCKERFILE.name + ".dockerignore")
    digest = _digest(
        real.encode(),
        python.encode(),
        AIRFLOW_DOCKERFILE.read_bytes(),
        ignore.read_bytes(),
        AIRFLOW_CONSTRAINTS.read_bytes(),
    )
    version = real.rsplit(":", 1)[-1]
    return f"{STANDIN_REPOSITORY}/airflow:{version}-{digest}"


def build_python(engine: Engine, real: str) -> str:
    """The python stand-in, from the image store when its inputs are unchanged."""
    ref = python_ref(real)
    if engine.image_exists(ref):
        print(f"stand-in {ref} for {real}: cached (its inputs are unchanged)", flush=True)
        return ref
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise FileNotFoundError("mmdebstrap is not installed: run `make setup-containers`")
    with tempfile.TemporaryDirectory(prefix="imdb-standin-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        cmd = [mmdebstrap, "--variant=minbase", "--quiet", "--include=" + ",".join(PYTHON_PACKAGES)]
        cmd += [f"--dpkgopt={option}" for option in DPKG_OPTIONS]
        cmd += [f"--customize-hook={hook}" for hook in CUSTOMIZE_HOOKS]
        cmd += [DEBIAN_SUITE, str(rootfs), *debian_sources()]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, timeout=MMDEBSTRAP_TIMEOUT_SECONDS)
        changes = [arg for change in image_changes(real) for arg in ("--change", change)]
        engine.run("import", *changes, str(rootfs), ref, timeout=BUILD_TIMEOUT_SECONDS, capture=True)
    return ref


def build_airflow(engine: Engine, real: str, python: str, ca_bundle: Path | None) -> str:
    """The Airflow stand-in on the python stand-in, from the image store when unchanged."""
    ref = airflow_ref(real, python)
    if engine.image_exists(ref):
        print(f"stand-in {ref} for {real}: cached (its inputs are unchanged)", flush=True)
        return ref
    args = ["build", "--file", str(AIRFLOW_DOCKERFILE.relative_to(REPO_ROOT))]
    args += ["--build-arg", f"PYTHON_IMAGE={python}", "--label", f"{LABEL}={real}", "--tag", ref]
    if engine.name is EngineName.PODMAN:
        ignore = AIRFLOW_DOCKERFILE.with_name(AIRFLOW_DOCKERFILE.name + ".dockerignore")
        args += ["--pull=never", "--layers", "--network", "host", "--ignorefile", str(ignore.relative_to(REPO_ROOT))]
        if ca_bundle is not None:
            args += ["--volume", f"{ca_bundle}:{BUILD_CA_PATH}:ro", "--build-arg", f"PIP_CERT={BUILD_CA_PATH}"]
    else:
        args += ["--network", "host"]
    engine.run(*args, ".", timeout=BUILD_TIMEOUT_SECONDS)
    return ref
