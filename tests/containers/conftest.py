"""The three images, built for real by images/build.py (what `make images` runs), and how to run them.

Every container runs as Kubernetes runs our pods: the image's own non-root user, a read-only
root filesystem with a private /tmp, no capabilities, no new privileges, and the host's
network only (so it reaches the test PostgreSQL and the local IMDb on 127.0.0.1, and nothing
on a bridge). The tests are skipped only when neither docker nor podman can run a container;
`make test` installs podman first (`make setup-containers`).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg2
import pytest

from imdb_devkit import pg, synth
from imdb_devkit.server import ImdbServer, serve
from imdb_loader.libpq import PG_ENV, pg_env

REPO_ROOT = Path(__file__).resolve().parents[2]
TAG = "containers-test"
BUILD_TIMEOUT_SECONDS = 1800
RUN_TIMEOUT_SECONDS = 600
SCALE = 0.002
# The container's own tmpfs (as the pods' emptyDir), not the host's /tmp.
CONTAINER_TMP = "/tmp"  # noqa: S108
# Filled by the build fixture, printed at the end of the session (sizes and times are not asserted).
_SUMMARY: list[str] = []


def _engine_module() -> ModuleType:
    """images/engine.py, under a name of its own (images/ is not a package)."""
    spec = importlib.util.spec_from_file_location("imdb_images_engine", REPO_ROOT / "images" / "engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ENGINE = _engine_module()


@dataclass(frozen=True)
class Images:
    engine: Any  # images/engine.py's Engine
    report: dict[str, Any]

    def ref(self, image: str) -> str:
        return str(next(i["ref"] for i in self.report["images"] if i["image"] == image))

    def base(self, arg: str) -> dict[str, Any]:
        return dict(next(b for b in self.report["bases"] if b["arg"] == arg))

    def run(self, image: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run_hardened(self.engine, self.ref(image), *args, **kwargs)


def run_hardened(
    engine: Any,
    ref: str,
    *args: str,
    env: dict[str, str] | None = None,
    entrypoint: str | None = None,
    timeout: float = RUN_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run the image as its own user, read-only, no capabilities, host network only."""
    cmd = ["run", "--rm", "--read-only", "--tmpfs", CONTAINER_TMP, "--cap-drop", "ALL"]
    cmd += ["--security-opt", "no-new-privileges", "--network", "host"]
    for name, value in (env or {}).items():
        cmd += ["--env", f"{name}={value}"]
    if entrypoint is not None:
        cmd += ["--entrypoint", entrypoint]
    return subprocess.run(
        engine.command(*cmd, ref, *args),
        env=engine.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def explain(done: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    tail = (done.stdout + done.stderr).strip().splitlines()[-lines:]
    return f"exit {done.returncode}:\n" + "\n".join(tail)


@pytest.fixture(scope="session")
def engine() -> Any:
    try:
        return ENGINE.detect(ENGINE.EngineName.AUTO)
    except ENGINE.EngineUnavailableError as error:
        pytest.skip(f"no container engine can run here: {error} (make setup-containers installs podman)")


@pytest.fixture(scope="session")
def images(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Images:
    """All three images, built once per session exactly as `make images` builds them."""
    report = tmp_path_factory.mktemp("images") / "report.json"
    cmd = [sys.executable, str(REPO_ROOT / "images" / "build.py"), "--engine", engine.name, "--tag", TAG]
    started = time.monotonic()
    done = subprocess.run(
        [*cmd, "--report", str(report)], capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False
    )
    assert done.returncode == 0, f"images/build.py {explain(done)}"
    data = json.loads(report.read_text(encoding="utf-8"))
    _SUMMARY.append(f"images built with {data['engine']} in {time.monotonic() - started:.0f}s (bases included):")
    for base in data["bases"]:
        kind = "STAND-IN" if base["standin"] else "real"
        _SUMMARY.append(f"  base {base['real']}: {base['ref']} ({kind}, ready in {base['seconds']:.1f}s)")
    for item in data["images"]:
        size = item["size_bytes"] / 1e6
        _SUMMARY.append(f"  {item['ref']}: built in {item['seconds']:.1f}s, {size:.0f} MB, user {item['user']}")
    return Images(engine, data)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SUMMARY:
        terminalreporter.write_sep("-", "container images (printed, not asserted)")
        for line in _SUMMARY:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def imdb_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImdbServer]:
    """The seven synthetic files (with their usual dirt) on a local IMDb at 127.0.0.1."""
    root = tmp_path_factory.mktemp("containers-site")
    synth.generate(root, SCALE, seed=15, jobs=2)
    with serve(root) as server:
        yield server


@dataclass(frozen=True)
class Database:
    dsn: str
    libpq: dict[str, str]  # PGHOST ... PGPASSWORD, what the app secret holds

    @property
    def secret(self) -> dict[str, str]:
        """The keys of the CloudNativePG app secret the pods reference."""
        return {keyword: self.libpq.get(env, "") for keyword, env in PG_ENV.items()}


def new_database(server: pg.Server, prefix: str) -> tuple[str, Database]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    dsn = server.create_database(name)
    return name, Database(dsn, pg_env(dsn))


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()
