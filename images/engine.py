"""The container engine that builds and runs the images: docker when its daemon answers, else podman.

podman always gets the project's containers.conf through CONTAINERS_CONF, so nothing in the
system's configuration is changed. Every call is bounded in time. Standard library only: this
runs with the system's Python, before any virtualenv exists.
"""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = REPO_ROOT / "images" / "containers.conf"
PROBE_TIMEOUT_SECONDS = 20
# Where a host CA bundle is bind-mounted during a build (never into a layer), for pip.
BUILD_CA_PATH = "/run/host-ca.crt"


class EngineName(StrEnum):
    AUTO = "auto"
    DOCKER = "docker"
    PODMAN = "podman"


class EngineUnavailableError(RuntimeError):
    """Neither docker nor podman can be used; the message says why for each."""


@dataclass(frozen=True)
class Engine:
    name: EngineName
    binary: str

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.name is EngineName.PODMAN:
            env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
        return env

    def command(self, *args: str) -> list[str]:
        return [self.binary, *args]

    def run(
        self, *args: str, timeout: float, capture: bool = False, check: bool = True, echo: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = self.command(*args)
        if echo:
            print("+", shlex.join(cmd), flush=True)
        return subprocess.run(
            cmd, env=self.env, cwd=REPO_ROOT, capture_output=capture, text=True, timeout=timeout, check=check
        )

    def image_exists(self, ref: str) -> bool:
        args = ("image", "exists", ref) if self.name is EngineName.PODMAN else ("image", "inspect", ref)
        return self.run(*args, timeout=PROBE_TIMEOUT_SECONDS, capture=True, check=False, echo=False).returncode == 0

    def images_starting(self, prefix: str) -> list[str]:
        """Stored image names (repository:tag) that start with prefix."""
        args = ("images", "--format", "{{.Repository}}:{{.Tag}}")
        names = self.run(*args, timeout=PROBE_TIMEOUT_SECONDS, capture=True, echo=False).stdout.split()
        return sorted(name for name in names if name.startswith(prefix))

    def image_size(self, ref: str) -> int:
        args = ("image", "inspect", "--format", "{{.Size}}", ref)
        out = self.run(*args, timeout=PROBE_TIMEOUT_SECONDS, capture=True, echo=False)
        return int(out.stdout.strip().splitlines()[0])

    def image_user(self, ref: str) -> str:
        args = ("image", "inspect", "--format", "{{.Config.User}}", ref)
        return self.run(*args, timeout=PROBE_TIMEOUT_SECONDS, capture=True, echo=False).stdout.strip()

    def qualify(self, ref: str) -> str:
        """podman has no default registry for short names: spell out Docker Hub's, as docker does."""
        if self.name is not EngineName.PODMAN or ref.startswith("localhost/"):
            return ref
        first = ref.split("/", 1)[0]
        if "/" in ref and ("." in first or ":" in first):
            return ref  # already names a registry
        return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


def _answers(binary: str, name: EngineName) -> tuple[Engine | None, str]:
    found = shutil.which(binary)
    if found is None:
        return None, f"{binary}: not installed"
    engine = Engine(name, found)
    try:
        probe = engine.run("info", timeout=PROBE_TIMEOUT_SECONDS, capture=True, check=False, echo=False)
    except subprocess.TimeoutExpired:
        return None, f"{binary} info: no answer in {PROBE_TIMEOUT_SECONDS}s"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{binary} info exited {probe.returncode}: {last}"
    return engine, ""


def detect(choice: EngineName, docker: str = "docker", podman: str = "podman") -> Engine:
    """The engine to use: the one asked for, or for auto docker when its daemon answers, else podman."""
    candidates = {EngineName.DOCKER: docker, EngineName.PODMAN: podman}
    order = [EngineName.DOCKER, EngineName.PODMAN] if choice is EngineName.AUTO else [choice]
    reasons = []
    for name in order:
        engine, reason = _answers(candidates[name], name)
        if engine is not None:
            return engine
        reasons.append(reason)
    hint = "run `make setup-containers` to install podman" if EngineName.PODMAN in order else ""
    raise EngineUnavailableError("; ".join(filter(None, [*reasons, hint])))


def pip_ca_bundle() -> Path | None:
    """The CA bundle the host's pip is told to trust (PIP_CERT or pip.conf's cert), if any.

    pip in a build then needs the same bundle to reach the package index through this
    network; without such a setting the image's own certificates are enough.
    """
    configured = os.environ.get("PIP_CERT")
    extra = os.environ.get("PIP_CONFIG_FILE", "")
    if not configured and extra != os.devnull:  # pip reads no file at all when it is /dev/null
        files = [Path("/etc/xdg/pip/pip.conf"), Path("/etc/pip.conf"), Path.home() / ".pip/pip.conf"]
        files += [Path.home() / ".config/pip/pip.conf", *(Path(p) for p in extra.split(os.pathsep) if p)]
        parser = configparser.ConfigParser()
        parser.read([f for f in files if f.is_file()], encoding="utf-8")
        configured = parser.get("global", "cert", fallback="")
    path = Path(configured) if configured else None
    return path if path is not None and path.is_file() else None
