"""The audit trail: ``<schema>.load_runs`` (one row per dataset per run), ``load_rejects``, and
the change log ``load_changes`` (written by ``imdb_loader.changes``; its DDL lives there).

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

from imdb_loader import __version__, changes
from imdb_loader.changes import Changes
from imdb_loader.ddl import qualified
from imdb_loader.download import SourceVersion
from imdb_loader.outcome import FullReason, LoadStatus
from imdb_loader.rows import visible

STATUS_CHECK = "status IN ({})".format(", ".join(f"'{s}'" for s in LoadStatus))
FULL_REASON_TYPE = "text CONSTRAINT load_runs_changes_full_reason_check CHECK (changes_full_reason IN ({}))".format(
    ", ".join(f"'{r}'" for r in FullReason)
)

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
    rows_read         bigint,
    previous_rows     bigint,
    rows_rejected     bigint NOT NULL DEFAULT 0,
    rows_added        bigint,
    rows_changed      bigint,
    rows_removed      bigint,
    changes_full      boolean,
    changes_full_reason {full_reason_type},
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    phase_seconds     jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    status            text NOT NULL CONSTRAINT load_runs_status_check CHECK ({status_check}),
    error             text,
    loader_version    text,
    loader_host       text
);
CREATE INDEX IF NOT EXISTS load_runs_dataset_started_idx ON {runs} (dataset, started_at DESC);
COMMENT ON TABLE {runs} IS 'One row per dataset per imdb-load run: source version, counts, timings, outcome.';
COMMENT ON COLUMN {runs}.rows_read IS 'Data lines in the source version (header excluded), rejects included.';
COMMENT ON COLUMN {runs}.previous_rows IS 'Rows of the live table this run would replace (for the shrink guard).';
COMMENT ON COLUMN {runs}.rows_added IS 'Keys in the new version only (see load_changes); 0 when unchanged.';
COMMENT ON COLUMN {runs}.rows_changed IS 'Keys in both versions with another value in some column.';
COMMENT ON COLUMN {runs}.rows_removed IS 'Keys in the replaced version only.';
COMMENT ON COLUMN {runs}.changes_full IS
    'True: treat every key as changed (no per-key rows); false: load_changes lists them; NULL: not loaded.';
COMMENT ON COLUMN {runs}.changes_full_reason IS 'Why changes_full: no_live_table, forced or columns_changed.';
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


# Columns added since the first release, for load_runs tables created before them.
_ADDED_COLUMNS = {
    "rows_read": "bigint",
    "previous_rows": "bigint",
    "rows_added": "bigint",
    "rows_changed": "bigint",
    "rows_removed": "bigint",
    "changes_full": "boolean",
    "changes_full_reason": FULL_REASON_TYPE,
}


def ensure_schema(conn: Connection, schema: str) -> None:
    runs = qualified(schema, "load_runs")
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK_KEY,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL(RUNS_DDL).format(
                runs=runs,
                rejects=qualified(schema, "load_rejects"),
                status_check=sql.SQL(STATUS_CHECK),
                full_reason_type=sql.SQL(FULL_REASON_TYPE),
            )
        )
        _upgrade(cur, schema, runs)
        cur.execute(changes.ddl_statements(schema))
    conn.commit()


def _upgrade(cur: Any, schema: str, runs: sql.Composed) -> None:
    """Bring a load_runs table from an older release up to date; a no-op (two catalog reads) after."""
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'load_runs'",
        (schema,),
    )
    have = {name for (name,) in cur.fetchall()}
    for name, pg_type in _ADDED_COLUMNS.items():
        if name not in have:
            cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(runs, sql.Identifier(name), sql.SQL(pg_type)))
    cur.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'",
        (f'"{schema}"."load_runs"',),
    )
    definitions = [d for (d,) in cur.fetchall()]
    if not any(f"'{LoadStatus.BUSY}'" in d for d in definitions):
        cur.execute(
            sql.SQL(
                "ALTER TABLE {runs} DROP CONSTRAINT IF EXISTS load_runs_status_check, "
                "ADD CONSTRAINT load_runs_status_check CHECK ({check})"
            ).format(runs=runs, check=sql.SQL(STATUS_CHECK))
        )


@dataclass(frozen=True)
class LiveTable:
    """The live raw table, and the run that swapped it in (when the audit knows it)."""

    run_id: str | None
    url: str | None
    version: SourceVersion | None
    rows: int | None
    """From that run's audit row; the planner's estimate when no run of ours produced the table."""


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
                "UPDATE {} SET status = %s, finished_at = now(), "
                "error = coalesce(error, 'the loader stopped before finishing (killed or lost its connection)') "
                "WHERE dataset = %s AND status = %s RETURNING run_id"
            ).format(self.runs),
            (LoadStatus.ABANDONED, dataset, LoadStatus.RUNNING),
        )
        return len(rows)

    def live_table(self, dataset: str, table: str) -> LiveTable | None:
        """What is live now: None when the table does not exist (dropped, or never loaded).

        The newest 'loaded' run produced it: that status is written in the swap's own
        transaction, and loaders of one dataset never overlap (the advisory lock).
        """
        regclass = f'"{self.schema}"."{table}"'
        exists = self._exec(sql.SQL("SELECT c.reltuples FROM pg_class c WHERE c.oid = to_regclass(%s)"), (regclass,))
        if not exists:
            return None
        rows = self._exec(
            sql.SQL(
                "SELECT run_id, source_url, etag, last_modified, content_length, rows_loaded FROM {} "
                "WHERE dataset = %s AND status = %s ORDER BY started_at DESC LIMIT 1"
            ).format(self.runs),
            (dataset, LoadStatus.LOADED),
        )
        if not rows:
            estimate = float(exists[0][0])
            return LiveTable(None, None, None, int(estimate) if estimate >= 0 else None)
        run_id, url, etag, last_modified, length, loaded = rows[0]
        version = SourceVersion(etag=etag, last_modified=last_modified, content_length=length)
        return LiveTable(run_id, url, version, loaded)

    def record_busy(self, run_id: str, dataset: str, url: str, error: str) -> None:
        """A run that never started because another loader held the dataset."""
        self._exec(
            sql.SQL(
                "INSERT INTO {} (run_id, dataset, source_url, status, error, finished_at, loader_version, loader_host) "
                "VALUES (%s, %s, %s, %s, %s, now(), %s, %s)"
            ).format(self.runs),
            (run_id, dataset, url, LoadStatus.BUSY, error, __version__, socket.gethostname()),
        )

    def delete_rejects(self, run_id: str) -> None:
        self._exec(sql.SQL("DELETE FROM {} WHERE run_id = %s").format(self.rejects), (run_id,))

    def start(self, run_id: str, dataset: str, url: str) -> None:
        self._exec(
            sql.SQL(
                "INSERT INTO {} (run_id, dataset, source_url, status, loader_version, loader_host) "
                "VALUES (%s, %s, %s, %s, %s, %s)"
            ).format(self.runs),
            (run_id, dataset, url, LoadStatus.RUNNING, __version__, socket.gethostname()),
        )

    def finish(
        self,
        run_id: str,
        *,
        status: LoadStatus,
        version: SourceVersion | None,
        bytes_downloaded: int,
        rows_loaded: int | None,
        rows_rejected: int,
        phase_seconds: dict[str, float],
        rows_read: int | None = None,
        previous_rows: int | None = None,
        changes: Changes | None = None,
        error: str | None = None,
    ) -> None:
        """``changes`` is what the run did to the live table: None unless it swapped a version in
        (the counts) or found the source unchanged (``changes.NOTHING``)."""
        v = version or SourceVersion()
        recorded = (
            (None,) * 5
            if changes is None
            else (changes.added, changes.changed, changes.removed, changes.full, changes.full_reason)
        )
        self._exec(
            sql.SQL(
                "UPDATE {} SET status = %s, etag = %s, last_modified = %s, content_length = %s, "
                "bytes_downloaded = %s, rows_loaded = %s, rows_read = %s, previous_rows = %s, rows_rejected = %s, "
                "rows_added = %s, rows_changed = %s, rows_removed = %s, changes_full = %s, changes_full_reason = %s, "
                "phase_seconds = %s, error = %s, finished_at = clock_timestamp() WHERE run_id = %s"
            ).format(self.runs),
            (
                str(status),
                v.etag,
                v.last_modified,
                v.content_length,
                bytes_downloaded,
                rows_loaded,
                rows_read,
                previous_rows,
                rows_rejected,
                *recorded,
                json.dumps({k: round(s, 3) for k, s in phase_seconds.items()}),
                # An error can quote source bytes; PostgreSQL text cannot hold NUL.
                None if error is None else visible(error.encode("utf-8", "surrogateescape")),
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
