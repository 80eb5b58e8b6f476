"""The audit trail: ``<schema>.load_runs`` (one row per dataset per run) and ``load_rejects``.

Writes go through their own autocommit connection, so a failed load still leaves
its row and its rejects behind for whoever investigates.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from imdb_loader import __version__
from imdb_loader.ddl import qualified
from imdb_loader.download import SourceVersion

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS {runs} (
    run_id            text PRIMARY KEY,
    dataset           text NOT NULL,
    source_url        text NOT NULL,
    etag              text,
    last_modified     text,
    content_length    bigint,
    bytes_downloaded  bigint NOT NULL DEFAULT 0,
    rows_loaded       bigint,
    rows_rejected     bigint NOT NULL DEFAULT 0,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    phase_seconds     jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    status            text NOT NULL CHECK (status IN ('running', 'loaded', 'unchanged', 'failed', 'abandoned')),
    error             text,
    loader_version    text,
    loader_host       text
);
CREATE INDEX IF NOT EXISTS load_runs_dataset_started_idx ON {runs} (dataset, started_at DESC);
COMMENT ON TABLE {runs} IS 'One row per dataset per imdb-load run: source version, counts, timings, outcome.';
CREATE TABLE IF NOT EXISTS {rejects} (
    run_id       text NOT NULL,
    dataset      text NOT NULL,
    line_number  bigint NOT NULL,
    reason       text NOT NULL,
    raw_line     text,
    raw_bytes    bytea,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS load_rejects_run_idx ON {rejects} (run_id, line_number);
COMMENT ON TABLE {rejects} IS
    'Rows imdb-load could not take as they are; raw_bytes is set when the line is not valid UTF-8.';
"""

# One cluster-wide key serialises first-time DDL between loaders starting together.
_SETUP_LOCK_KEY = 0x1DB_5E70


def ensure_schema(conn: Connection, schema: str) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK_KEY,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL(RUNS_DDL).format(runs=qualified(schema, "load_runs"), rejects=qualified(schema, "load_rejects"))
        )
    conn.commit()


@dataclass
class Audit:
    conn: Connection
    schema: str

    @property
    def runs(self) -> sql.Composed:
        return qualified(self.schema, "load_runs")

    @property
    def rejects(self) -> sql.Composed:
        return qualified(self.schema, "load_rejects")

    def _exec(self, query: sql.Composable, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            rows = cur.fetchall() if cur.description else []
        return rows

    def abandon_stale(self, dataset: str) -> int:
        """Runs still marked running while we hold the dataset lock died without a word."""
        rows = self._exec(
            sql.SQL(
                "UPDATE {} SET status = 'abandoned', finished_at = now(), "
                "error = coalesce(error, 'the loader stopped before finishing (killed or lost its connection)') "
                "WHERE dataset = %s AND status = 'running' RETURNING run_id"
            ).format(self.runs),
            (dataset,),
        )
        return len(rows)

    def last_loaded_version(self, dataset: str, url: str) -> SourceVersion | None:
        rows = self._exec(
            sql.SQL(
                "SELECT etag, last_modified, content_length FROM {} "
                "WHERE dataset = %s AND source_url = %s AND status IN ('loaded', 'unchanged') "
                "ORDER BY started_at DESC LIMIT 1"
            ).format(self.runs),
            (dataset, url),
        )
        if not rows:
            return None
        etag, last_modified, length = rows[0]
        return SourceVersion(etag=etag, last_modified=last_modified, content_length=length)

    def start(self, run_id: str, dataset: str, url: str) -> None:
        self._exec(
            sql.SQL(
                "INSERT INTO {} (run_id, dataset, source_url, status, loader_version, loader_host) "
                "VALUES (%s, %s, %s, 'running', %s, %s)"
            ).format(self.runs),
            (run_id, dataset, url, __version__, socket.gethostname()),
        )

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        version: SourceVersion | None,
        bytes_downloaded: int,
        rows_loaded: int | None,
        rows_rejected: int,
        phase_seconds: dict[str, float],
        error: str | None = None,
    ) -> None:
        v = version or SourceVersion()
        self._exec(
            sql.SQL(
                "UPDATE {} SET status = %s, etag = %s, last_modified = %s, content_length = %s, "
                "bytes_downloaded = %s, rows_loaded = %s, rows_rejected = %s, phase_seconds = %s, "
                "error = %s, finished_at = now() WHERE run_id = %s"
            ).format(self.runs),
            (
                status,
                v.etag,
                v.last_modified,
                v.content_length,
                bytes_downloaded,
                rows_loaded,
                rows_rejected,
                json.dumps({k: round(s, 3) for k, s in phase_seconds.items()}),
                error,
                run_id,
            ),
        )

    def add_rejects(self, run_id: str, dataset: str, rows: list[tuple[int, str, bytes]]) -> None:
        """rows: (line number, reason, raw bytes without the newline)."""
        if not rows:
            return
        values = []
        for line_number, reason, raw in rows:
            try:
                decoded = raw.decode("utf-8")
                text: str | None = None if "\x00" in decoded else decoded
            except UnicodeDecodeError:
                text = None
            values.append((run_id, dataset, line_number, reason, text, None if text is not None else raw))
        with self.conn.cursor() as cur:
            cur.executemany(
                sql.SQL(
                    "INSERT INTO {} (run_id, dataset, line_number, reason, raw_line, raw_bytes) "
                    "VALUES (%s, %s, %s, %s, %s, %s)"
                ).format(self.rejects),
                values,
            )

    def first_reasons(self, run_id: str, limit: int = 3) -> list[str]:
        rows = self._exec(
            sql.SQL("SELECT line_number, reason FROM {} WHERE run_id = %s ORDER BY line_number LIMIT %s").format(
                self.rejects
            ),
            (run_id, limit),
        )
        return [f"line {line}: {reason}" for line, reason in rows]
