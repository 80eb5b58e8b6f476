"""Connections to the warehouse, with every wait bounded.

A server that accepts the TCP connection and then says nothing, a swap or audit statement
stuck behind a lock, a server that dies during an hour-long COPY: each is found in bounded
time. The defaults below apply only where the DSN (or libpq's PG* variables) does not set
the same parameter, so a DSN can always override them.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType

import psycopg2
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import parse_dsn

CONNECT_DEFAULTS: dict[str, str] = {
    # Seconds to establish the connection, startup and authentication included.
    "connect_timeout": "10",
    # An idle connection (waiting for an index build, say) whose server vanished is noticed
    # after 30 + 3 x 10 s.
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    # A connection with data in flight (a COPY) whose server stopped acknowledging it is
    # dropped after 5 minutes. Keepalives never fire while data is unacknowledged.
    "tcp_user_timeout": "300000",
}
_ENVIRONMENT = {"connect_timeout": "PGCONNECT_TIMEOUT"}
"""libpq variables that set the same parameter; when present, they win over our default."""

SHORT_STATEMENT_TIMEOUT = "30s"
"""For the statements that should take milliseconds: the check, the audit rows, the swap."""


def connection_defaults(dsn: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The defaults that neither the DSN nor the environment sets."""
    env = dict(os.environ) if env is None else env
    given = parse_dsn(dsn) if dsn else {}
    return {
        key: value
        for key, value in CONNECT_DEFAULTS.items()
        if key not in given and not env.get(_ENVIRONMENT.get(key, ""))
    }


def sets_statement_timeout(dsn: str, env: dict[str, str] | None = None) -> bool:
    """True when the DSN's ``options`` or PGOPTIONS already choose a statement timeout."""
    env = dict(os.environ) if env is None else env
    options = (parse_dsn(dsn) if dsn else {}).get("options") or env.get("PGOPTIONS", "")
    return "statement_timeout" in options


def connect(dsn: str, *, autocommit: bool, short_statements: bool = False) -> Connection:
    """A connection for the loader. ``short_statements`` bounds every statement on it."""
    conn = psycopg2.connect(dsn, application_name="imdb-load", **connection_defaults(dsn))
    conn.set_client_encoding("UTF8")
    if short_statements and not sets_statement_timeout(dsn):
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = %s", (SHORT_STATEMENT_TIMEOUT,))
        conn.commit()
    conn.autocommit = autocommit
    return conn


def lost_connection_reason(exc: BaseException) -> str | None:
    """What the server said before the connection went away, or None if it did not go away.

    psycopg2 reports a connection killed during COPY in several shapes (OperationalError,
    InterfaceError, and a SystemError from its C layer); the server's own FATAL message, when
    it sent one, is the useful part.
    """
    text = " ".join(str(exc).split())
    markers = (
        "server closed the connection",
        "terminating connection",
        "connection already closed",
        "invalid socket",
        "SSL SYSCALL error",
        "could not receive data",
        "could not send data",
        "no connection to the server",
        "returned a result with an exception set",
        "connection to server",
    )
    if isinstance(exc, psycopg2.InterfaceError) or any(m in text for m in markers):
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        return primary or text or type(exc).__name__
    return None


# psycopg2's C layer reports some errors during COPY through sys.excepthook (as a SystemError
# caused by the server's error) and then raises a bare "invalid socket". Keep the server's
# error, per thread, so the load can say what the server said.
_captured = threading.local()
_installed = False
_install_lock = threading.Lock()


def capture_server_errors() -> None:
    """Route psycopg2's printed-and-dropped server errors to ``take_server_error`` (idempotent)."""
    global _installed  # noqa: PLW0603 - one process-wide hook, chained to whatever was there
    with _install_lock:
        if _installed:
            return
        previous = sys.excepthook

        def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            cause = exc.__cause__ or exc.__context__
            if isinstance(exc, SystemError) and isinstance(cause, psycopg2.Error):
                _captured.error = cause
                return
            previous(exc_type, exc, tb)

        sys.excepthook = hook
        _installed = True


def take_server_error() -> psycopg2.Error | None:
    """The server error psycopg2 dropped on this thread since the last call, if any."""
    error: psycopg2.Error | None = getattr(_captured, "error", None)
    _captured.error = None
    return error
