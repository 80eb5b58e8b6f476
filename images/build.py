"""`make images`: build imdb-pipeline-airflow, -loader and -dbt from images/*/Dockerfile.

docker builds them when its daemon answers, else podman (installed first when missing, see
tools.py). The Dockerfiles' base images (their PYTHON_IMAGE / AIRFLOW_IMAGE build arguments)
are used when present or pullable; when they cannot be pulled, local stand-ins are built
(standin.py) and the output says so. Images built on a stand-in are for trying things here,
never for a registry. Each image's build time and size are printed, and with --report written
as JSON. Then the images go to the cluster (--load kind|minikube|none).

    python3 images/build.py [--engine auto|docker|podman] [--tag dev] [--load none] [--dry-run]

Exit: 0 built, 2 bad arguments, 10 no usable engine, 11 a base image unavailable,
12 a build failed, 13 loading into the cluster failed.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from enum import IntEnum, StrEnum
from pathlib import Path

import standin
import tools
from engine import (
    BUILD_CA_PATH,
    REPO_ROOT,
    Engine,
    EngineName,
    EngineUnavailableError,
    detect,
    pip_ca_bundle,
)

IMAGES = ("airflow", "loader", "dbt")
PULL_TIMEOUT_SECONDS = 600
BUILD_TIMEOUT_SECONDS = 1800
LOAD_TIMEOUT_SECONDS = 600
ARCHIVE = REPO_ROOT / "build" / "images" / "images.tar"


class BuildExit(IntEnum):
    OK = 0
    BAD_ARGUMENTS = 2
    NO_ENGINE = 10
    BASE_UNAVAILABLE = 11
    BUILD_FAILED = 12
    LOAD_FAILED = 13


class Load(StrEnum):
    KIND = "kind"
    MINIKUBE = "minikube"
    NONE = "none"


@dataclass
class Base:
    arg: str  # the Dockerfile's build argument
    real: str  # its default: the image the Dockerfile is written for
    ref: str  # what the build uses
    standin: bool
    seconds: float  # to find, pull or build it


@dataclass
class Built:
    image: str
    ref: str
    seconds: float
    size_bytes: int
    user: str


def dockerfile(image: str) -> Path:
    return REPO_ROOT / "images" / image / "Dockerfile"


def base_args(path: Path) -> dict[str, str]:
    """The Dockerfile's `ARG *_IMAGE=default` lines: build argument -> the real base image."""
    text = path.read_text(encoding="utf-8")
    return dict(re.findall(r"^ARG\s+(\w+_IMAGE)=(\S+)\s*$", text, re.MULTILINE))


def pull(engine: Engine, ref: str) -> str:
    """'' when pulled, else why not (the engine's last line of error)."""
    try:
        done = engine.run("pull", ref, timeout=PULL_TIMEOUT_SECONDS, capture=True, check=False)
    except subprocess.TimeoutExpired:
        return f"no answer in {PULL_TIMEOUT_SECONDS}s"
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]


def resolve_bases(engine: Engine, wanted: dict[str, str], ca_bundle: Path | None) -> dict[str, Base]:
    """Each base the real one when present or pullable, else its stand-in (said plainly)."""
    bases: dict[str, Base] = {}
    for arg in ("PYTHON_IMAGE", "AIRFLOW_IMAGE"):  # the Airflow stand-in is built on the python base
        if arg not in wanted:
            continue
        started = time.monotonic()
        real = engine.qualify(wanted[arg])
        why = "" if engine.image_exists(real) else pull(engine, real)
        if not why:
            bases[arg] = Base(arg, wanted[arg], real, standin=False, seconds=round(time.monotonic() - started, 1))
            continue
        print(f"\n*** {wanted[arg]} cannot be pulled ({why}).", flush=True)
        if arg == "PYTHON_IMAGE":
            ref = standin.build_python(engine, wanted[arg])
        else:
            python = bases["PYTHON_IMAGE"].ref if "PYTHON_IMAGE" in bases else wanted["PYTHON_IMAGE"]
            ref = standin.build_airflow(engine, wanted[arg], python, ca_bundle)
        print(f"*** STAND-IN: building on {ref} instead of {wanted[arg]} (docs/kubernetes.md, Stand-in bases).")
        print("*** Images built on a stand-in are for this machine only: do not push them.\n", flush=True)
        bases[arg] = Base(arg, wanted[arg], ref, standin=True, seconds=round(time.monotonic() - started, 1))
    return bases


def build_args(engine: Engine, image: str, tag: str, bases: dict[str, str], ca_bundle: Path | None) -> list[str]:
    path = dockerfile(image)
    args = ["build", "--file", str(path.relative_to(REPO_ROOT)), "--tag", f"imdb-pipeline-{image}:{tag}"]
    for arg in base_args(path):
        args += ["--build-arg", f"{arg}={bases[arg]}"]
    # Host networking only: a build reaches the package index, never a bridge's private range.
    args += ["--network", "host"]
    if engine.name is EngineName.PODMAN:
        # BuildKit reads <Dockerfile>.dockerignore by itself; podman 4 has to be told.
        ignore = path.with_name(path.name + ".dockerignore").relative_to(REPO_ROOT)
        args += ["--pull=never", "--layers", "--ignorefile", str(ignore)]
        if ca_bundle is not None:
            args += ["--volume", f"{ca_bundle}:{BUILD_CA_PATH}:ro", "--build-arg", f"PIP_CERT={BUILD_CA_PATH}"]
    return [*args, "."]


def load_commands(engine: Engine, refs: list[str], args: argparse.Namespace) -> list[list[str]]:
    """How the built images reach the cluster: from docker by name, from podman as an archive."""
    if args.load is Load.NONE:
        return []
    if engine.name is EngineName.DOCKER:
        if args.load is Load.KIND:
            return [[args.kind, "load", "docker-image", "--name", args.kind_cluster, *refs]]
        return [[args.minikube, "image", "load", *refs]]
    save = engine.command("save", "--multi-image-archive", "--output", str(ARCHIVE), *refs)
    if args.load is Load.KIND:
        return [save, [args.kind, "load", "image-archive", "--name", args.kind_cluster, str(ARCHIVE)]]
    return [save, [args.minikube, "image", "load", str(ARCHIVE)]]


def wanted_bases(images: list[str]) -> dict[str, str]:
    return {arg: default for image in images for arg, default in base_args(dockerfile(image)).items()}


def dry_run(engine: Engine, args: argparse.Namespace) -> int:
    wanted = wanted_bases(args.only)
    print(f"# bases: {', '.join(wanted.values())}: used when present, pulled when absent,")
    print("# else local stand-ins (images/standin.py) passed with --build-arg")
    defaults = {arg: engine.qualify(ref) for arg, ref in wanted.items()}
    for image in args.only:
        print(shlex.join(engine.command(*build_args(engine, image, args.tag, defaults, pip_ca_bundle()))))
    refs = [f"imdb-pipeline-{image}:{args.tag}" for image in args.only]
    for cmd in load_commands(engine, refs, args):
        print(shlex.join(cmd))
    return BuildExit.OK


def build_all(engine: Engine, args: argparse.Namespace, bases: dict[str, Base], ca_bundle: Path | None) -> list[Built]:
    built = []
    for image in args.only:
        ref = f"imdb-pipeline-{image}:{args.tag}"
        started = time.monotonic()
        refs = {arg: base.ref for arg, base in bases.items()}
        engine.run(*build_args(engine, image, args.tag, refs, ca_bundle), timeout=BUILD_TIMEOUT_SECONDS)
        seconds = time.monotonic() - started
        built.append(Built(image, ref, round(seconds, 1), engine.image_size(ref), engine.image_user(ref)))
    return built


def summary(built: list[Built], bases: dict[str, Base]) -> None:
    for base in bases.values():
        kind = "stand-in" if base.standin else "real"
        print(f"\nbase {base.real}: {base.ref} ({kind}, ready in {base.seconds:.1f}s)")
    print("\nimage                          build s    size MB  user     base")
    for item in built:
        used = [b for arg, b in bases.items() if arg in base_args(dockerfile(item.image))]
        note = ", ".join(f"{b.ref}{' (STAND-IN)' if b.standin else ''}" for b in used)
        print(f"{item.ref:<30} {item.seconds:>7.1f} {item.size_bytes / 1e6:>10.1f}  {item.user:<8} {note}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", type=EngineName, choices=list(EngineName), default=EngineName.AUTO)
    parser.add_argument("--docker", default="docker", help="the docker client to use")
    parser.add_argument("--podman", default="podman", help="the podman binary to use")
    parser.add_argument("--tag", default="dev")
    parser.add_argument("--only", type=lambda s: s.split(","), default=list(IMAGES), help="e.g. loader,dbt")
    parser.add_argument("--load", type=Load, choices=list(Load), default=Load.NONE)
    parser.add_argument("--kind", default="kind")
    parser.add_argument("--kind-cluster", default="imdb")
    parser.add_argument("--minikube", default="minikube")
    parser.add_argument("--report", type=Path, help="write what was built, with times and sizes, as JSON")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(IMAGES)
    if unknown:
        parser.error(f"--only: no image {', '.join(sorted(unknown))} (images: {', '.join(IMAGES)})")
    return args


def engine_for(args: argparse.Namespace) -> Engine:
    try:
        return detect(args.engine, args.docker, args.podman)
    except EngineUnavailableError:
        if args.dry_run:
            # Nothing runs: show the commands for the engine asked for (docker for auto).
            name = EngineName.PODMAN if args.engine is EngineName.PODMAN else EngineName.DOCKER
            return Engine(name, args.podman if name is EngineName.PODMAN else args.docker)
        if args.engine is EngineName.DOCKER or tools.ensure() is not tools.ToolsExit.OK:
            raise
        return detect(args.engine, args.docker, args.podman)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        engine = engine_for(args)
    except EngineUnavailableError as error:
        print(f"make images: no container engine to build with: {error}", file=sys.stderr)
        return BuildExit.NO_ENGINE
    if args.dry_run:
        return dry_run(engine, args)
    print(f"building with {engine.name} ({engine.binary})", flush=True)
    ca_bundle = pip_ca_bundle()
    wanted = wanted_bases(args.only)
    failure = (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError)
    try:
        bases = resolve_bases(engine, wanted, ca_bundle)
    except failure as error:
        print(f"make images: no base image: {error}", file=sys.stderr)
        return BuildExit.BASE_UNAVAILABLE
    try:
        built = build_all(engine, args, bases, ca_bundle)
    except failure as error:
        print(f"make images: build failed: {error}", file=sys.stderr)
        return BuildExit.BUILD_FAILED
    summary(built, bases)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        report = {"engine": engine.name.value, "bases": [asdict(b) for b in bases.values()]}
        report["images"] = [asdict(b) for b in built]
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    for cmd in load_commands(engine, [b.ref for b in built], args):
        print("+", shlex.join(cmd), flush=True)
        if subprocess.run(cmd, env=engine.env, timeout=LOAD_TIMEOUT_SECONDS, check=False).returncode != 0:
            print(f"make images: {shlex.join(cmd)} failed", file=sys.stderr)
            return BuildExit.LOAD_FAILED
    return BuildExit.OK


if __name__ == "__main__":
    sys.exit(main())
