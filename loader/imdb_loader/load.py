"""Load one dataset: check, download, copy, keys, swap, audit.

The fast path streams the gzip straight into ``COPY ... FREEZE`` of a fresh table,
with no per-row Python. When PostgreSQL refuses a row (wrong field count, bad type,
invalid UTF-8, NUL, CR), the same source version is read again through the careful
path, which checks each line in Python, lets PostgreSQL judge the types with
``pg_input_is_valid`` and records every bad line in ``load_rejects``.

Everything up to the swap happens in one transaction on one connection: a loader
that is killed or loses its connection leaves the live table as it was, and the
server throws the half-built table away.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from imdb_loader import ddl
from imdb_loader.audit import Audit, ensure_schema
from imdb_loader.config import LoadConfig, describe_dsn
from imdb_loader.datasets import Dataset
from imdb_loader.download import HttpSource, SourceVersion, gunzip
from imdb_loader.errors import (
    BadRowsFound,
    BusyError,
    DatabaseError,
    LoaderError,
    SourceChangedError,
    TooManyRejectsError,
)
from imdb_loader.keys import add_keys
from imdb_loader.logs import DatasetLog
from imdb_loader.progress import Progress, human_rate
from imdb_loader.rows import careful_rows, check_header, typed_insert_sql
from imdb_loader.stream import PipeReader
from imdb_loader.swap import swap_in

COPY_READ_SIZE = 1 << 18
MAX_SOURCE_RESTARTS = 2
KEPT_REJECTS_BEYOND_LIMIT = 100
PHASE_DONE = {
    "copy": "downloaded and copied into a fresh table",
    "index": "built the primary key and indexes",
    "analyze": "analyzed the new table",
    "swap": "swapped the new table in",
}


@dataclass
class LoadResult:
    dataset: str
    status: str  # loaded | unchanged | failed
    run_id: str
    rows: int = 0
    rejected: int = 0
    seconds: float = 0.0
    compressed_bytes: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "status": self.status,
            "run_id": self.run_id,
            "rows": self.rows,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "bytes": self.compressed_bytes,
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
            "error": self.error,
        }


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + os.urandom(4).hex()


def advisory_key(schema: str, ds: Dataset) -> str:
    return f"imdb-load:{schema}.{ds.table}"


def connect(dsn: str, autocommit: bool) -> Connection:
    conn = psycopg2.connect(
        dsn,
        application_name="imdb-load",
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
    )
    conn.set_client_encoding("UTF8")
    conn.autocommit = autocommit
    return conn


class DatasetLoad:
    """One run of one dataset. Use ``run()``; it never raises for expected failures."""

    def __init__(self, ds: Dataset, cfg: LoadConfig, source: HttpSource | None = None) -> None:
        self.ds = ds
        self.cfg = cfg
        self.run_id = new_run_id()
        self.url = cfg.url_for(ds.file_name)
        self.source = source or HttpSource(self.url, cfg.http)
        self.log = DatasetLog(logging.getLogger("imdb_loader.load"), {"dataset": ds.name, "run_id": self.run_id})
        self.phases: dict[str, float] = {}
        self.version: SourceVersion | None = None
        self.rejected = 0
        self.fresh = f"_load_{ds.table}_{self.run_id.replace('-', '_').lower()}"[:63]
        self._audit_conn: Connection | None = None
        self._work: Connection | None = None

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        self.log.debug("%s: started", name, extra={"phase": name})
        try:
            yield
        finally:
            took = time.monotonic() - started
            self.phases[name] = self.phases.get(name, 0.0) + took
        if name in PHASE_DONE:
            self.log.info("%s: %s in %.2fs", name, PHASE_DONE[name], took, extra={"phase": name})

    @property
    def audit(self) -> Audit:
        assert self._audit_conn is not None
        return Audit(self._audit_conn, self.cfg.schema)

    @property
    def work(self) -> Connection:
        assert self._work is not None
        return self._work

    def _lock(self) -> None:
        with self.audit.conn.cursor() as cur:
            key = advisory_key(self.cfg.schema, self.ds)
            cur.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,))
            row = cur.fetchone()
            if row and row[0]:
                return
            cur.execute(
                "SELECT a.pid, a.client_addr, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND "
                "(l.classid::bigint << 32 | l.objid::bigint) = hashtextextended(%s, 0) & x'FFFFFFFFFFFFFFFF'::bigint",
                (key,),
            )
            holder = cur.fetchone()
        who = f" (backend pid {holder[0]}, since {holder[2]:%H:%M:%S})" if holder else ""
        raise BusyError(f"{self.ds.name}: another imdb-load is loading this dataset{who}; not starting a second one")

    def _drop_leftovers(self) -> None:
        with self.audit.conn.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
                (self.cfg.schema, f"\\_load\\_{self.ds.table}\\_%"),
            )
            for (name,) in cur.fetchall():
                self.log.warning("dropping leftover table %s.%s from an earlier run", self.cfg.schema, name)
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ddl.qualified(self.cfg.schema, name)))

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> LoadResult:
        started = time.monotonic()
        result = LoadResult(self.ds.name, "failed", self.run_id)
        try:
            self._audit_conn = connect(self.cfg.dsn, autocommit=False)
            ensure_schema(self._audit_conn, self.cfg.schema)
            self._audit_conn.autocommit = True
            self._lock()
            if self.audit.abandon_stale(self.ds.name):
                self.log.warning("marked an earlier unfinished run as abandoned")
            self._drop_leftovers()
            self.audit.start(self.run_id, self.ds.name, self.url)
            result = self._run_started(result)
        except LoaderError as exc:
            result.error, result.exit_code = str(exc), int(exc.exit_code)
        except psycopg2.Error as exc:
            err = DatabaseError(f"{self.ds.name}: database error: {one_line(exc)}")
            result.error, result.exit_code = str(err), int(err.exit_code)
        finally:
            result.seconds = time.monotonic() - started
            result.phases = dict(self.phases)
            result.compressed_bytes = self.source.stats.compressed_bytes
            self._close()
        return result

    def _run_started(self, result: LoadResult) -> LoadResult:
        try:
            rows = self._check_and_load()
        except BaseException as exc:
            message = str(exc) if isinstance(exc, LoaderError) else f"{type(exc).__name__}: {one_line(exc)}"
            if isinstance(exc, psycopg2.Error):
                message = f"{self.ds.name}: database error: {one_line(exc)}"
            self._finish_audit("failed", None, message)
            raise
        status = "unchanged" if rows is None else "loaded"
        self._finish_audit(status, rows)
        result.status, result.rows, result.rejected = status, rows or 0, self.rejected
        return result

    def _finish_audit(self, status: str, rows: int | None, error: str | None = None) -> None:
        try:
            self.audit.finish(
                self.run_id,
                status=status,
                version=self.version,
                bytes_downloaded=self.source.stats.compressed_bytes,
                rows_loaded=rows,
                rows_rejected=self.rejected,
                phase_seconds=self.phases,
                error=error,
            )
        except psycopg2.Error as exc:
            self.log.error("could not record the run's outcome in load_runs: %s", one_line(exc))

    def _close(self) -> None:
        for conn in (self._work, self._audit_conn):
            if conn is not None and not conn.closed:
                with suppress(psycopg2.Error):
                    conn.close()

    def _check_and_load(self) -> int | None:
        """Rows now live, or None when the source is unchanged."""
        with self.phase("check"):
            previous = self.audit.last_loaded_version(self.ds.name, self.url)
            self.version, response = self.source.open(previous, self.cfg.force)
        if response is None:
            self.log.info(
                "unchanged since the last load (%s); skipped",
                self.version.describe(),
                extra={"phase": "check", "status": "unchanged"},
            )
            return None
        self.log.info("new version at %s (%s)", self.url, self.version.describe(), extra={"phase": "check"})
        self._work = connect(self.cfg.dsn, autocommit=False)
        for restart in range(MAX_SOURCE_RESTARTS + 1):
            try:
                return self._load_version(response)
            except SourceChangedError as exc:
                self.work.rollback()
                if restart == MAX_SOURCE_RESTARTS:
                    raise
                self.log.warning("%s", exc)
                self.version, response = self.source.open(None, force=True)
        raise AssertionError("unreachable")

    def _load_version(self, response: Any) -> int:
        assert self.version is not None
        try:
            streamed = self._fast_copy(response)
        except BadRowsFound as bad:
            self.work.rollback()
            if self.cfg.reject_limit.allowed(10**12) == 0:
                raise TooManyRejectsError(
                    f"{self.ds.name}: {bad.reason}; the reject limit is 0, so the load stops here "
                    "and the previous table stays live"
                ) from None
            self.log.warning("%s; reading the file again with row checks", bad.reason, extra={"phase": "copy"})
            streamed = self._careful_copy(self.source.reopen_same(self.version))
        loaded = self._build_keys(streamed)
        self._check_rejects(streamed)
        with self.phase("analyze"):
            self.work.cursor().execute(sql.SQL("ANALYZE {}").format(ddl.qualified(self.cfg.schema, self.fresh)))
        with self.phase("swap"):
            swap_in(self.work, self.ds, self.cfg, self.fresh, self.log)
        self.log.info(
            "swapped in %s rows (%s rejected); download+copy %.1fs at %srows/s, keys %.1fs",
            f"{loaded:,}",
            f"{self.rejected:,}",
            self.phases.get("copy", 0.0),
            human_rate(loaded / max(self.phases.get("copy", 0.0), 1e-6)),
            self.phases.get("index", 0.0),
            extra={"phase": "done", "rows": loaded, "status": "loaded"},
        )
        return loaded

    # -- copy paths ---------------------------------------------------------------------------

    def _reader(self, response: Any, *, refuse_quote_byte: bool) -> PipeReader:
        """The body as lines, header checked. The fast path refuses the COPY quote byte,
        which CSV mode would silently strip; the careful path quotes it instead."""
        assert self.version is not None
        version = self.version
        reader = PipeReader(lambda: gunzip(self.source.chunks(response, version), self.url))
        progress = Progress(
            self.log,
            version.content_length,
            lambda: self.source.stats.compressed_bytes,
            self.cfg.progress_every_s,
        )
        quote = ddl.COPY_QUOTE.encode()

        def on_chunk(chunk: bytes) -> None:
            if refuse_quote_byte and quote in chunk:
                raise BadRowsFound("a field contains the byte 0x01, which the fast path cannot pass through")
            progress.tick(reader.newlines, reader.bytes_read)

        reader.on_chunk = on_chunk
        try:
            check_header(self.ds, reader.readline(), self.url)
        except BaseException:
            reader.close()
            raise
        return reader

    def _create_fresh(self) -> None:
        # One round trip: the table and its column comments (users see them in psql and dbt docs).
        statements = [
            ddl.create_table(self.ds, self.cfg.schema, self.fresh),
            *ddl.comments(self.ds, self.cfg.schema, self.fresh),
        ]
        with self.work.cursor() as cur:
            cur.execute(sql.SQL("; ").join(statements))

    def _fast_copy(self, response: Any) -> int:
        with self.phase("copy"):
            reader = self._reader(response, refuse_quote_byte=True)
            try:
                self._create_fresh()
                with self.work.cursor() as cur:
                    target = ddl.qualified(self.cfg.schema, self.fresh)
                    cur.copy_expert(ddl.copy_from_stdin(self.ds, target, freeze=True), reader, size=COPY_READ_SIZE)
            except psycopg2.Error as exc:
                if reader.failure is not None:
                    raise reader.failure from None
                if isinstance(exc, psycopg2.DataError | psycopg2.errors.BadCopyFileFormat):
                    raise BadRowsFound(f"PostgreSQL refused a row ({copy_error_where(exc)})") from exc
                raise
            finally:
                reader.close()
            return reader.lines - 1

    def _careful_copy(self, response: Any) -> int:
        """Lines read (excluding the header); rejects recorded; good rows in the fresh table."""
        with self.phase("copy"):
            reader = self._reader(response, refuse_quote_byte=False)
            staging = f"_stage_{self.ds.table}"
            kept_limit = self.cfg.reject_limit.allowed(10**12) + KEPT_REJECTS_BEYOND_LIMIT
            try:
                self._create_fresh()
                with self.work.cursor() as cur:
                    cur.execute(ddl.create_staging_table(self.ds, staging))
                    source = careful_rows(self.ds, reader, keep=kept_limit)
                    cur.copy_expert(
                        ddl.copy_from_stdin(self.ds, sql.Identifier(staging), freeze=False, line_numbers=True),
                        source,
                        size=COPY_READ_SIZE,
                    )
                    self._record_rejects(source.rejects, source.rejected, kept_limit)
                    typed_rejects, typed_count = self._typed_insert(cur, staging, kept_limit)
                    self._record_rejects(typed_rejects, typed_count, kept_limit)
            except psycopg2.Error:
                if reader.failure is not None:
                    raise reader.failure from None
                raise
            finally:
                reader.close()
            return reader.lines - 1

    def _record_rejects(self, rows: list[tuple[int, str, bytes]], count: int, kept_limit: int) -> None:
        """Keep every reject of a load that passes, and the first limit+100 of one that fails."""
        room = max(kept_limit - self.rejected, 0)
        self.audit.add_rejects(self.run_id, self.ds.name, rows[:room])
        self.rejected += count

    def _typed_insert(self, cur: Any, staging: str, keep: int) -> tuple[list[tuple[int, str, bytes]], int]:
        """Move valid, first-seen rows into the fresh table; return (first rejects, reject count)."""
        statements = typed_insert_sql(self.ds, self.cfg.schema, self.fresh, staging)
        for stmt in statements.prepare:
            cur.execute(stmt)
        cur.execute(statements.insert)
        cur.execute(statements.rejects, {"keep": keep})
        rows = [(int(line), reason, raw.encode()) for line, reason, raw in cur.fetchall()]
        cur.execute(statements.count_rejects)
        (count,) = cur.fetchone()
        return rows, int(count)

    # -- keys, checks -------------------------------------------------------------------------

    def _build_keys(self, streamed: int) -> int:
        with self.phase("index"):
            removed = add_keys(self.work, self.ds, self.cfg, self.fresh, self.run_id, self.audit, self.log)
            self.rejected += removed
            with self.work.cursor() as cur:
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(ddl.qualified(self.cfg.schema, self.fresh)))
                row = cur.fetchone()
        loaded = int(row[0]) if row else 0
        if loaded != streamed - self.rejected:
            raise DatabaseError(
                f"{self.ds.name}: the new table holds {loaded:,} rows but {streamed:,} were read and "
                f"{self.rejected:,} rejected; not swapping it in"
            )
        return loaded

    def _check_rejects(self, streamed: int) -> None:
        allowed = self.cfg.reject_limit.allowed(streamed)
        if self.rejected > allowed:
            reasons = "; ".join(self.audit.first_reasons(self.run_id))
            raise TooManyRejectsError(
                f"{self.ds.name}: {self.rejected:,} of {streamed:,} rows rejected, over the limit of "
                f"{allowed:,} ({self.cfg.reject_limit}); the previous table stays live. First: {reasons}"
            )
        if self.rejected:
            self.log.warning(
                "%s rows rejected (limit %s); see %s.load_rejects where run_id = '%s'",
                f"{self.rejected:,}",
                f"{allowed:,}",
                self.cfg.schema,
                self.run_id,
            )


def copy_error_where(exc: psycopg2.Error) -> str:
    """'line 12: invalid input syntax for type integer: "x"' from a COPY error, in file lines."""
    diag = exc.diag
    message = (diag.message_primary or str(exc)).strip()
    context = diag.context or ""
    # COPY counts from the first data line; the file has a header line before it.
    match = re.search(r"line (\d+)(?:, column (\w+))?", context)
    if not match:
        return message
    line = int(match.group(1)) + 1
    column = f", column {match.group(2)}" if match.group(2) else ""
    return f"line {line}{column}: {message}"


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def load_many(datasets: list[Dataset], cfg: LoadConfig, parallel: int = 1) -> list[LoadResult]:
    """Load datasets, ``parallel`` at a time; results in registry order."""
    log = logging.getLogger("imdb_loader.load")
    log.info(
        "loading %s into %s (schema %s)",
        ", ".join(d.name for d in datasets),
        describe_dsn(cfg.dsn),
        cfg.schema,
    )
    if parallel <= 1 or len(datasets) == 1:
        return [DatasetLoad(ds, cfg).run() for ds in datasets]
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - only `--parallel` pays for it

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="imdb-load") as pool:
        return list(pool.map(lambda ds: DatasetLoad(ds, cfg).run(), datasets))
