"""Airflow 3 as a person uses it, on this machine: API server (UI), scheduler, DAG processor.

``LocalAirflow`` starts, in one temporary directory that it deletes when it stops:

* PostgreSQL 18 from the dev kit (``imdb_devkit.pg``, or the server ``DATABASE_URL``
  names) with two databases: Airflow's metadata and the warehouse;
* synthetic IMDb files (``imdb-synth``) served over local HTTP (``imdb-serve``);
* ``airflow db migrate``, the pool ``imdb_loads``, and the users: an Admin plus every user of
  the permissions file (``airflow/dag_permissions.json`` unless told otherwise), each with a
  random password, created through ``ImdbSecurityManager`` so they get their DAGs at once;
* ``airflow dag-processor``, ``airflow scheduler`` and ``airflow api-server`` with the FAB auth
  manager, our ``webserver_config.py`` and the local runner, each in its own session so that a
  Ctrl-C in the terminal reaches only us, and we stop them in order.

Used by ``scripts/airflow_ui.py`` (``make airflow-ui``) and by the browser tests. No secret is
written to a log or a command line: passwords reach ``airflow`` on stdin, the database password
only in the environment of our own children.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from cryptography.fernet import Fernet
from imdb_pipeline import config as pipeline
from imdb_security.permissions_file import DagPermissionsError, load

from imdb_devkit import pg, synth
from imdb_devkit.server import serve

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO_ROOT / "dags"
AIRFLOW_DIR = REPO_ROOT / "airflow"
EXAMPLE_PERMISSIONS = AIRFLOW_DIR / "dag_permissions.json"
BIN_DIR = Path(sys.executable).parent
DAG_ID = pipeline.DAG_ID
POOL = pipeline.POOL
ADMIN_USER = "admin"
LISTED_USER_ROLE = "User"  # what the file's users start with; the security manager narrows it
BUNDLE_CLASS = "airflow.dag_processing.bundles.local.LocalDagBundle"
LOCALHOST = "127.0.0.1"


class Component(StrEnum):
    """The long-running Airflow processes, in start order."""

    DAG_PROCESSOR = "dag-processor"
    SCHEDULER = "scheduler"
    API_SERVER = "api-server"


# Stop the scheduler first: it stops starting tasks while the API server can still hear them.
STOP_ORDER = (Component.SCHEDULER, Component.DAG_PROCESSOR, Component.API_SERVER)
STOP_SECONDS = 20.0


class StackError(RuntimeError):
    """A step of the start failed; the message names the step and where its log is."""


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


@dataclass
class Options:
    scale: float = 0.001
    seed: int = 1
    port: int = 0
    permissions_file: Path = EXAMPLE_PERMISSIONS
    extra_dag_dirs: Sequence[Path] = ()
    pool_slots: int = int(pipeline.DEFAULTS["IMDB_LOADS_POOL_SLOTS"])
    # The API server caches each user's permissions this long; short, so that a re-sync of
    # the permissions file shows in the UI within seconds.
    permissions_cache_seconds: int = 5
    start_timeout: float = 240.0


def _die_with_parent() -> None:
    # Children die with us even when we are SIGKILLed: Linux's PR_SET_PDEATHSIG.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def sqlalchemy_url(dsn: str) -> str:
    """The libpq URI as SQLAlchemy wants it (``postgresql+psycopg2://``)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2"))


def listed_users(permissions_file: Path) -> list[str]:
    """User names of a permissions file (either version), via the file's own parser.

    A bad file is a StackError with the parser's one line (file, user, problem).
    """
    try:
        return sorted(load(permissions_file).users)
    except DagPermissionsError as exc:
        raise StackError(str(exc)) from None


@dataclass
class LocalAirflow:
    """Start with ``start()`` or as a context manager; ``url`` and ``logins`` once started."""

    options: Options = field(default_factory=Options)
    root: Path | None = None
    port: int = 0
    logins: list[Login] = field(default_factory=list)
    warehouse_dsn: str = ""
    metadata_dsn: str = ""
    base_url: str = ""
    _procs: dict[Component, subprocess.Popen[bytes]] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _secrets: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ what a user sees

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}/"

    @property
    def home(self) -> Path:
        assert self.root is not None
        return self.root / "airflow-home"

    @property
    def permissions_file(self) -> Path:
        """The copy of the permissions file the running stack reads (edit it, then ``sync_permissions``)."""
        return self.home / "dag_permissions.json"

    @property
    def log_dir(self) -> Path:
        assert self.root is not None
        return self.root / "logs"

    def login(self, username: str) -> Login:
        return next(entry for entry in self.logins if entry.username == username)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalAirflow:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalAirflow:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        listed_users(self.options.permissions_file)  # a bad file fails here, before anything starts
        self.root = Path(tempfile.mkdtemp(prefix="imdb-airflow-ui-"))
        self._stack.callback(shutil.rmtree, self.root, ignore_errors=True)
        self.log_dir.mkdir()
        self.home.mkdir()
        shutil.copyfile(self.options.permissions_file, self.permissions_file)
        server = self._stack.enter_context(pg.server())
        suffix = uuid.uuid4().hex[:8]
        for name in (f"airflow_{suffix}", f"imdb_{suffix}"):
            dsn = server.create_database(name)
            if server.owned is None:  # an existing server: leave it as we found it
                self._stack.callback(server.drop_database, name)
            if name.startswith("airflow"):
                self.metadata_dsn = dsn
            else:
                self.warehouse_dsn = dsn
        files = self.root / "imdb"
        synth.generate(files, self.options.scale, seed=self.options.seed)
        site = self._stack.enter_context(serve(files))
        self.base_url = site.base_url
        self.port = self.options.port or free_port()
        self._secrets = {
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
        }
        self.airflow("db", "migrate", timeout=600)
        self.airflow("pools", "set", POOL, str(self.options.pool_slots), "IMDb loads at once")
        self._create_users()
        for component in Component:
            self._spawn(component)
        self._wait_healthy()
        self._wait_parsed()

    def stop(self) -> None:
        """Stop every process we started, then the servers; delete the temp files.

        All components get SIGTERM at once (the scheduler first, so it stops handing out
        tasks); whatever is left of their sessions after ``STOP_SECONDS`` (a task still
        running, a worker) is SIGKILLed.
        """
        procs = [self._procs.pop(c) for c in STOP_ORDER if c in self._procs]
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in procs:
            _kill_session(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self._stack.close()

    # ------------------------------------------------------------------ Airflow

    def env(self) -> dict[str, str]:
        """The environment of every ``airflow`` process of this stack."""
        assert self.root is not None
        bundles = [{"name": "dags-folder", "classpath": BUNDLE_CLASS, "kwargs": {}}]
        bundles += [
            {"name": f"extra-{i}", "classpath": BUNDLE_CLASS, "kwargs": {"path": str(path)}}
            for i, path in enumerate(self.options.extra_dag_dirs)
        ]
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PG", "IMDB_"))}
        return {
            **inherited,
            **self._secrets,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(self.metadata_dsn),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__FAB__CONFIG_FILE": str(AIRFLOW_DIR / "webserver_config.py"),
            "AIRFLOW__FAB__CACHE_TTL": str(self.options.permissions_cache_seconds),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "PYTHONPATH": os.pathsep.join([str(AIRFLOW_DIR), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "PATH": os.pathsep.join([str(BIN_DIR), os.environ.get("PATH", "")]),
            "IMDB_PIPELINE_RUNNER": "local",
            "IMDB_DSN": self.warehouse_dsn,
            "IMDB_BASE_URL": self.base_url,
            "IMDB_LOADS_POOL_SLOTS": str(self.options.pool_slots),
            "IMDB_DAG_PERMISSIONS_FILE": str(self.permissions_file),
            "IMDB_DBT_TARGET_PATH": str(self.root / "dbt-target"),
            # The local runner finds dbt from these, or in the venv `make setup` creates.
            **{name: os.environ[name] for name in ("IMDB_DBT_BIN", "IMDB_DBT_VENV") if os.environ.get(name)},
        }

    def airflow(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        """Run the ``airflow`` CLI against this stack; its output, or StackError with the tail."""
        return self._run([str(BIN_DIR / "airflow"), *args], stdin=stdin, timeout=timeout)

    def sync_permissions(self) -> str:
        """Apply the (edited) permissions file now: ``airflow sync-perm``."""
        return self.airflow("sync-perm")

    def _run(self, argv: list[str], *, stdin: str | None, timeout: float) -> str:
        try:
            proc = subprocess.run(
                argv, env=self.env(), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"{' '.join(argv[1:3])}: no answer in {timeout:.0f}s") from exc
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise StackError(f"{' '.join(argv[1:3])} exited {proc.returncode}:\n{output[-4000:]}")
        return output

    def _create_users(self) -> None:
        users = [Login(ADMIN_USER, secrets.token_urlsafe(12), "Admin")]
        users += [
            Login(name, secrets.token_urlsafe(12), LISTED_USER_ROLE)
            for name in listed_users(self.permissions_file)
            if name != ADMIN_USER
        ]
        payload = json.dumps([{"username": u.username, "password": u.password, "role": u.role} for u in users])
        self._run([sys.executable, "-m", "imdb_ui.users"], stdin=payload, timeout=300)
        self.logins = users

    def _spawn(self, component: Component) -> None:
        args = [str(BIN_DIR / "airflow"), str(component)]
        if component is Component.API_SERVER:
            args += ["--host", LOCALHOST, "--port", str(self.port)]
        with (self.log_dir / f"{component}.log").open("ab") as log:
            self._procs[component] = subprocess.Popen(
                args,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (the child calls only prctl)
            )

    def check_running(self) -> None:
        """StackError if one of the Airflow processes has exited."""
        for component, proc in self._procs.items():
            if proc.poll() is not None:
                raise StackError(
                    f"airflow {component} exited {proc.returncode}: {self.log_tail(component)} "
                    f"(log: {self.log_dir / f'{component}.log'})"
                )

    def log_tail(self, component: Component, lines: int = 8) -> str:
        try:
            text = (self.log_dir / f"{component}.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.options.start_timeout
        health = f"{self.url}api/v2/monitor/health"
        while True:
            self.check_running()
            try:
                with urllib.request.urlopen(health, timeout=5) as response:  # noqa: S310 (our own http URL)
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise StackError(
                    f"the API server did not answer {health} in {self.options.start_timeout:.0f}s: "
                    f"{self.log_tail(Component.API_SERVER)}"
                )
            time.sleep(1)

    def expected_dag_ids(self) -> set[str]:
        return {DAG_ID} | {path.stem for d in self.options.extra_dag_dirs for path in d.glob("*.py")}

    def parsed_dag_ids(self) -> set[str]:
        with psycopg2.connect(self.metadata_dsn, connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SELECT dag_id FROM dag WHERE NOT is_stale")
            return {row[0] for row in cur.fetchall()}

    def _wait_parsed(self) -> None:
        """Until the DAG processor has written every DAG (file names are DAG ids for extra dirs)."""
        deadline = time.monotonic() + self.options.start_timeout
        wanted = self.expected_dag_ids()
        while not wanted <= self.parsed_dag_ids():
            self.check_running()
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(wanted - self.parsed_dag_ids()))
                raise StackError(
                    f"the DAG processor did not parse {missing} in {self.options.start_timeout:.0f}s: "
                    f"{self.log_tail(Component.DAG_PROCESSOR)}"
                )
            time.sleep(1)

    def describe(self) -> Iterator[str]:
        """What a person needs, line by line: the URL, the logins (passwords!), where things are."""
        yield f"Airflow UI:  {self.url}"
        for entry in self.logins:
            role = "Admin (sees everything)" if entry.role == "Admin" else "DAGs from the permissions file"
            yield f"  login {entry.username:<16} password {entry.password}   {role}"
        yield f"Permissions: {self.permissions_file} (edit it: applied within seconds)"
        yield f"Logs:        {self.log_dir}/<component>.log, task logs in {self.home / 'logs'}"
        yield f"IMDb files:  {self.base_url}  warehouse: {_redacted(self.warehouse_dsn)}"


def _redacted(dsn: str) -> str:
    parts = urlsplit(dsn)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return f"{parts.username}@{host}{parts.path}"


def _fernet_key() -> str:
    return Fernet.generate_key().decode()


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the session ``sid`` (one we started with ``start_new_session``)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:  # state, ppid, pgrp, session
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(stat.parent.name), signal.SIGKILL)
