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

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from engine import BUILD_CA_PATH, REPO_ROOT, Engine, EngineName, detect

STANDIN_REPOSITORY = "localhost/standin"
LABEL = "io.imdb-pipeline.standin-for"
MMDEBSTRAP_TIMEOUT_SECONDS = 900
BUILD_TIMEOUT_SECONDS = 1200
STANDIN_DIR = REPO_ROOT / "images" / "standin"
AIRFLOW_DOCKERFILE = STANDIN_DIR / "airflow.Dockerfile"
AIRFLOW_CONSTRAINTS = REPO_ROOT / "requirements" / "dev.lock"
PSQL_DOCKERFILE = STANDIN_DIR / "psql.Dockerfile"

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


def _dockerfile_ref(name: str, real: str, python: str, dockerfile: Path, *inputs: Path) -> str:
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    files = [dockerfile, ignore, *inputs]
    digest = _digest(real.encode(), python.encode(), *(f.read_bytes() for f in files))
    version = real.rsplit(":", 1)[-1]
    return f"{STANDIN_REPOSITORY}/{name}:{version}-{digest}"


def airflow_prefix(real: str, python: str) -> str:
    """The Airflow stand-in's name up to the hash of what it installed from the lock."""
    return _dockerfile_ref("airflow", real, python, AIRFLOW_DOCKERFILE)


def pins(text: str) -> dict[str, str]:
    """`name==version` lines (a lock, or pip freeze) as name -> version, names normalised as pip does."""
    found = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower().strip()] = version.strip()
    return found


def installed(engine: Engine, ref: str) -> dict[str, str]:
    """What pip installed into the Airflow stand-in (its user site, as in the official image)."""
    args = ("run", "--rm", "--network", "none", ref, "python", "-m", "pip", "freeze", "--user")
    return pins(engine.run(*args, timeout=BUILD_TIMEOUT_SECONDS, capture=True, echo=False).stdout)


def psql_ref(real: str, python: str) -> str:
    return _dockerfile_ref("postgresql-client", real, python, PSQL_DOCKERFILE)


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


def _build(engine: Engine, dockerfile: Path, ref: str, real: str, *, args: dict[str, str], ca: Path | None) -> str:
    if engine.image_exists(ref):
        print(f"stand-in {ref} for {real}: cached (its inputs are unchanged)", flush=True)
        return ref
    cmd = ["build", "--file", str(dockerfile.relative_to(REPO_ROOT)), "--label", f"{LABEL}={real}", "--tag", ref]
    for name, value in args.items():
        cmd += ["--build-arg", f"{name}={value}"]
    cmd += ["--network", "host"]
    if engine.name is EngineName.PODMAN:
        ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
        cmd += ["--pull=never", "--layers", "--ignorefile", str(ignore.relative_to(REPO_ROOT))]
        if ca is not None:
            cmd += ["--volume", f"{ca}:{BUILD_CA_PATH}:ro", "--build-arg", f"PIP_CERT={BUILD_CA_PATH}"]
    engine.run(*cmd, ".", timeout=BUILD_TIMEOUT_SECONDS)
    return ref


def build_airflow(engine: Engine, real: str, python: str, ca_bundle: Path | None) -> str:
    """The Airflow stand-in on the python base, reused while the lock still pins what it installed.

    The lock (requirements/dev.lock) also pins the test tools, which change far more often than
    Airflow: a change to those must not cost a rebuild. So a stored stand-in is kept when every
    package it has that the lock names is at the lock's version; the last part of its tag is the
    hash of those pins.
    """
    prefix = airflow_prefix(real, python)
    lock = pins(AIRFLOW_CONSTRAINTS.read_text(encoding="utf-8"))
    for candidate in engine.images_starting(prefix + "-"):
        have = installed(engine, candidate)
        if have and all(lock.get(name, version) == version for name, version in have.items()):
            print(f"stand-in {candidate} for {real}: cached (the lock pins what it installed)", flush=True)
            return candidate
    building = f"{prefix}-building"
    engine.run("rmi", building, timeout=BUILD_TIMEOUT_SECONDS, capture=True, check=False, echo=False)
    _build(engine, AIRFLOW_DOCKERFILE, building, real, args={"PYTHON_IMAGE": python}, ca=ca_bundle)
    used = sorted(f"{name}=={version}" for name, version in installed(engine, building).items() if name in lock)
    ref = f"{prefix}-{_digest(chr(10).join(used).encode())}"
    engine.run("tag", building, ref, timeout=BUILD_TIMEOUT_SECONDS)
    engine.run("rmi", building, timeout=BUILD_TIMEOUT_SECONDS, capture=True)
    return ref


def build_psql(engine: Engine, real: str, python: str) -> str:
    """psql on the python base, for the chart's helm-test pod, from the image store when unchanged."""
    ref = psql_ref(real, python)
    return _build(engine, PSQL_DOCKERFILE, ref, real, args={"PYTHON_IMAGE": python, "STANDIN_FOR": real}, ca=None)


def main(argv: list[str] | None = None) -> int:
    """`standin.py psql --for IMAGE --python-base REF`: build (or reuse) and print the stand-in."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("kind", choices=["psql"])
    parser.add_argument("--for", dest="real", required=True, help="the image it stands in for")
    parser.add_argument("--python-base", required=True, help="the python base to build on")
    parser.add_argument("--engine", type=EngineName, choices=list(EngineName), default=EngineName.AUTO)
    args = parser.parse_args(argv)
    ref = build_psql(detect(args.engine), args.real, args.python_base)
    print(ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
