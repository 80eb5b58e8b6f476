"""Load one dataset: check, download, copy, keys, shrink guard, changes, swap, audit.

The copy itself (the fast path, and the careful path after a refused row) is in
``copying``; this module decides what runs, and records how it ended.

Everything up to the swap happens in one transaction on one connection: a loader
that is killed or loses its connection leaves the live table as it was, and the
server throws the half-built table away. The change capture (``changes``) runs in that
transaction too, so the change log commits with the swap or not at all.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import cursor as Cursor
from requests import Response

from imdb_loader import ddl
from imdb_loader.audit import Audit, LiveTable, ensure_schema
from imdb_loader.changes import NOTHING, Capture, Changes
from imdb_loader.config import LoadConfig
from imdb_loader.connection import capture_server_errors, connect, lost_connection_reason, take_server_error
from imdb_loader.copying import FreshCopy
from imdb_loader.datasets import Dataset
from imdb_loader.download import HttpSource, SourceVersion
from imdb_loader.errors import (
    BadRowsFound,
    BusyError,
    DatabaseError,
    LoaderError,
    LostLockError,
    SourceChangedError,
    SourceShrankError,
    TooManyRejectsError,
)
from imdb_loader.keys import add_keys
from imdb_loader.logs import DatasetLog
from imdb_loader.outcome import LoadStatus
from imdb_loader.progress import human_rate
from imdb_loader.swap import swap_in

MAX_SOURCE_RESTARTS = 2
LOCK_CHECK_EVERY_S = 2.0
"""How often the connection that holds the dataset's lock is checked while the load runs."""
PHASE_DONE = {
    "copy": "downloaded and copied into a fresh table",
    "index": "built the primary key and indexes",
    "analyze": "analyzed the new table",
    "swap": "swapped the new table in",
}


@dataclass
class LoadResult:
    dataset: str
    status: LoadStatus
    run_id: str
    rows: int = 0
    rejected: int = 0
    seconds: float = 0.0
    compressed_bytes: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    changes: Changes | None = None
    """What the run did to the live table; None when it failed."""
    error: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "status": str(self.status),
            "run_id": self.run_id,
            "rows": self.rows,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "bytes": self.compressed_bytes,
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
            "changes": None if self.changes is None else self.changes.as_dict(),
            "error": self.error,
        }


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + os.urandom(4).hex()


def advisory_key(schema: str, ds: Dataset) -> str:
    return f"imdb-load:{schema}.{ds.table}"


class DatasetLoad:
    """One run of one dataset. Use ``run()``; it never raises for expected failures.

    ``stop()`` may be called from another thread (a signal handler, the lock watch): the
    load then ends before the swap, as failed, with that reason.
    """

    def __init__(self, ds: Dataset, cfg: LoadConfig, source: HttpSource | None = None) -> None:
        self.ds = ds
        self.cfg = cfg
        self.run_id = new_run_id()
        self.url = cfg.url_for(ds.file_name)
        self.source = source or HttpSource(self.url, cfg.http)
        self.log = DatasetLog(logging.getLogger("imdb_loader.load"), {"dataset": ds.name, "run_id": self.run_id})
        self.phases: dict[str, float] = {}
        self.version: SourceVersion | None = None
        self.live: LiveTable | None = None
        self.rows_read: int | None = None
        self.rejected = 0
        self.changes: Changes | None = None
        """Set by the capture just before the swap; recorded only with a 'loaded' status."""
        self.fresh = f"_load_{ds.table}_{self.run_id.replace('-', '_').lower()}"[:63]
        self._audit_conn: Connection | None = None
        self._work: Connection | None = None
        self._stopped: LoaderError | None = None
        self._copy: FreshCopy | None = None
        self._swapped = False
        self._done = threading.Event()

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._raise_if_stopped()
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

    def stop(self, error: LoaderError) -> None:
        """End the load before its swap (thread-safe). A swap already under way completes."""
        if self._stopped is not None or self._done.is_set():
            return
        self._stopped = error
        reader = self._copy.reader_now if self._copy is not None else None
        if reader is not None:
            reader.abort(error)  # a COPY waiting for the source would not see the cancel until EOF
        work = self._work
        if work is not None and not work.closed and not self._swapped:
            with suppress(psycopg2.Error):
                work.cancel()  # the running COPY or index build ends with QueryCanceled

    def _raise_if_stopped(self) -> None:
        if self._stopped is not None:
            raise self._stopped

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
        error = BusyError(f"{self.ds.name}: another imdb-load is loading this dataset{who}; not starting a second one")
        self.audit.record_busy(self.run_id, self.ds.name, self.url, str(error))
        raise error

    def _watch_lock(self) -> None:
        """Check the lock's connection every few seconds; if it died, stop the load: without
        the lock a second loader may already be copying the same dataset."""
        conn = self._audit_conn
        assert conn is not None
        while not self._done.wait(LOCK_CHECK_EVERY_S):
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
            except psycopg2.Error as exc:
                self.stop(
                    LostLockError(
                        f"{self.ds.name}: lost the database connection that holds this dataset's lock "
                        f"({one_line(exc)}); stopped the load so that no two loaders copy it at once; "
                        "the previous table stays live"
                    )
                )
                return

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
        result = LoadResult(self.ds.name, LoadStatus.FAILED, self.run_id)
        capture_server_errors()
        take_server_error()  # a message left by an earlier load on this thread is not ours
        try:
            self._audit_conn = connect(self.cfg.dsn, autocommit=False, short_statements=True)
            ensure_schema(self._audit_conn, self.cfg.schema)
            self._audit_conn.autocommit = True
            self._lock()
            threading.Thread(target=self._watch_lock, daemon=True, name=f"lock-{self.ds.table}").start()
            if self.audit.abandon_stale(self.ds.name):
                self.log.warning("marked an earlier unfinished run as abandoned")
            self._drop_leftovers()
            self.audit.start(self.run_id, self.ds.name, self.url)
            result = self._run_started(result)
        except BusyError as exc:
            result.status, result.error, result.exit_code = LoadStatus.BUSY, str(exc), int(exc.exit_code)
        except LoaderError as exc:
            result.error, result.exit_code = str(exc), int(exc.exit_code)
        except psycopg2.Error as exc:
            err = self._stopped or DatabaseError(f"{self.ds.name}: database error: {one_line(exc)}")
            result.error, result.exit_code = str(err), int(err.exit_code)
        finally:
            self._done.set()
            result.seconds = time.monotonic() - started
            result.phases = dict(self.phases)
            result.compressed_bytes = self.source.stats.compressed_bytes
            self._close()
        return result

    def _run_started(self, result: LoadResult) -> LoadResult:
        try:
            rows = self._check_and_load()
        except BaseException as exc:
            error = self._explain(exc)
            self._finish_audit(LoadStatus.FAILED, None, str(error) or f"stopped by {type(error).__name__}")
            if error is exc:
                raise
            raise error from exc
        status = LoadStatus.UNCHANGED if rows is None else LoadStatus.LOADED
        self._finish_audit(status, rows)
        result.status, result.rows, result.rejected = status, rows or 0, self.rejected
        result.changes = self._changes_of(status)
        return result

    def _changes_of(self, status: LoadStatus) -> Changes | None:
        """The changes a run with this outcome records: none of a run that swapped nothing in."""
        if status == LoadStatus.UNCHANGED:
            return NOTHING
        return self.changes if status == LoadStatus.LOADED else None

    def _explain(self, exc: BaseException) -> BaseException:
        """The one error a user should see for ``exc``: a stop's reason wins over its symptom."""
        if self._stopped is not None:
            return self._stopped
        if isinstance(exc, LoaderError | KeyboardInterrupt):
            return exc
        if isinstance(exc, psycopg2.Error | SystemError):
            server_said = take_server_error()
            reason = lost_connection_reason(server_said or exc)
            if reason is not None:
                during = next(reversed(self.phases), "the load")
                return DatabaseError(
                    f"{self.ds.name}: lost the connection to the database during {during}: {reason}; "
                    "the previous table stays live"
                )
            if isinstance(exc, psycopg2.Error):
                return DatabaseError(f"{self.ds.name}: database error: {one_line(exc)}")
        return exc

    def _finish_audit(self, status: LoadStatus, rows: int | None, error: str | None = None) -> None:
        for attempt in (1, 2):
            try:
                if attempt == 2:  # the audit connection died with the lock: record the end on a new one
                    self._audit_conn = connect(self.cfg.dsn, autocommit=True, short_statements=True)
                self.audit.finish(
                    self.run_id,
                    status=status,
                    version=self.version,
                    bytes_downloaded=self.source.stats.compressed_bytes,
                    rows_loaded=rows,
                    rows_read=self.rows_read,
                    previous_rows=self.live.rows if self.live else None,
                    rows_rejected=self.rejected,
                    phase_seconds=self.phases,
                    changes=self._changes_of(status),
                    error=error,
                )
                return
            except psycopg2.Error as exc:
                if attempt == 2 or (self._audit_conn is not None and not self._audit_conn.closed):
                    self.log.error("could not record the run's outcome in load_runs: %s", one_line(exc))
                    return

    def _close(self) -> None:
        for conn in (self._work, self._audit_conn):
            if conn is not None and not conn.closed:
                with suppress(psycopg2.Error):
                    conn.close()

    def _check_and_load(self) -> int | None:
        """Rows now live, or None when the live table already holds this source version."""
        with self.phase("check"):
            self.live = self.audit.live_table(self.ds.name, self.ds.table)
            previous = self.live.version if self.live is not None and self.live.url == self.url else None
            self.version, response = self.source.open(previous, self.cfg.force)
        if response is None:
            self.log.info(
                "unchanged: the live table holds this version (%s); skipped",
                self.version.describe(),
                extra={"phase": "check", "status": LoadStatus.UNCHANGED},
            )
            return None
        self.log.info("new version at %s (%s)", self.url, self.version.describe(), extra={"phase": "check"})
        self._raise_if_stopped()
        self._work = connect(self.cfg.dsn, autocommit=False)
        for restart in range(MAX_SOURCE_RESTARTS + 1):
            try:
                return self._load_version(response)
            except SourceChangedError as exc:
                self.work.rollback()
                if restart == MAX_SOURCE_RESTARTS:
                    raise SourceChangedError(f"{exc}; gave up after {MAX_SOURCE_RESTARTS} restarts") from None
                self.log.warning(
                    "%s; restarting from the first byte (restart %d of %d)", exc, restart + 1, MAX_SOURCE_RESTARTS
                )
                self.version, reopened = self.source.open(None, force=True)
                assert reopened is not None, "a forced open always returns the body"
                response = reopened
        raise AssertionError("unreachable")

    def _load_version(self, response: Response) -> int:
        assert self.version is not None
        try:
            with self.phase("copy"):
                streamed = self._copier().fast(response)
            loaded = self._build_keys(streamed, fast=True)
        except BadRowsFound as bad:
            self.work.rollback()
            if self.cfg.reject_limit.stops_at_first():
                raise TooManyRejectsError(
                    f"{self.ds.name}: {bad.reason}; the reject limit is 0, so the load stops here "
                    "and the previous table stays live"
                ) from None
            self.log.warning("%s; reading the file again with row checks", bad.reason, extra={"phase": "copy"})
            self._forget_rejects()
            again = self.source.reopen_same(self.version)
            copier = self._copier()
            with self.phase("copy"):
                streamed = copier.careful(again)
            self.rejected += copier.rejected
            loaded = self._build_keys(streamed, fast=False)
        self.rows_read = streamed
        self._check_rejects(streamed)
        self._guard_shrink(loaded)
        with self.phase("analyze"), self.work.cursor() as cur:
            cur.execute(sql.SQL("ANALYZE {}").format(ddl.qualified(self.cfg.schema, self.fresh)))
        self._capture_changes()
        with self.phase("swap"):
            self._swap(loaded)
        assert self.changes is not None
        self.log.info(
            "swapped in %s rows (%s rejected); download+copy %.1fs at %srows/s, keys %.1fs, changes %.1fs",
            f"{loaded:,}",
            f"{self.rejected:,}",
            self.phases.get("copy", 0.0),
            human_rate(loaded / max(self.phases.get("copy", 0.0), 1e-6)),
            self.phases.get("index", 0.0),
            self.phases.get("changes", 0.0),
            extra={"phase": "done", "rows": loaded, "status": LoadStatus.LOADED},
        )
        return loaded

    def _capture_changes(self) -> None:
        """Log the keys this version adds, changes and removes, in the transaction the swap commits."""
        capture = Capture(
            ds=self.ds,
            schema=self.cfg.schema,
            fresh=self.fresh,
            run_id=self.run_id,
            forced=self.cfg.force,
            lock_wait_s=self.cfg.lock_wait_s,
        )
        with self.phase("changes"), self.work.cursor() as cur:
            self.changes = capture.run(cur)
        if self.changes.full:
            told = f"{self.changes.describe()}: recorded as changes_full in {self.cfg.schema}.load_runs, no keys logged"
        else:
            told = (
                f"{self.changes.describe()} against the live table in {self.phases['changes']:.2f}s; "
                f"see {self.cfg.schema}.load_changes where run_id = '{self.run_id}'"
            )
        self.log.info("changes: %s", told, extra={"phase": "changes"})

    def _copier(self) -> FreshCopy:
        assert self.version is not None
        self._copy = FreshCopy(
            ds=self.ds,
            cfg=self.cfg,
            fresh=self.fresh,
            work=self.work,
            source=self.source,
            version=self.version,
            url=self.url,
            audit=self.audit,
            run_id=self.run_id,
            log=self.log,
        )
        return self._copy

    def _swap(self, loaded: int) -> None:
        def mark_loaded(cur: Cursor) -> None:
            # In the swap's own transaction: the newest 'loaded' row is always the live table's.
            self._raise_if_stopped()
            Audit(self.work, self.cfg.schema).finish(
                self.run_id,
                status=LoadStatus.LOADED,
                version=self.version,
                bytes_downloaded=self.source.stats.compressed_bytes,
                rows_loaded=loaded,
                rows_read=self.rows_read,
                previous_rows=self.live.rows if self.live else None,
                rows_rejected=self.rejected,
                phase_seconds=self.phases,
                changes=self.changes,
            )
            self._swapped = True

        swap_in(self.work, self.ds, self.cfg, self.fresh, self.log, before_commit=mark_loaded)

    def _guard_shrink(self, loaded: int) -> None:
        """Refuse a version far smaller than what is live: an upstream accident, not a change."""
        if self.cfg.allow_shrink:
            return
        hint = "the previous table stays live; if the data really shrank, pass --min-rows-ratio or --allow-shrink"
        if loaded < self.ds.min_rows:
            raise SourceShrankError(
                f"{self.ds.name}: the new version has {loaded:,} rows, under this dataset's floor of "
                f"{self.ds.min_rows:,}; not swapping it in; {hint}"
            )
        live_rows = self.live.rows if self.live is not None else None
        if live_rows and loaded < self.cfg.min_rows_ratio * live_rows:
            raise SourceShrankError(
                f"{self.ds.name}: the new version has {loaded:,} rows where the live table has {live_rows:,} "
                f"({loaded / live_rows:.1%}, under the minimum of {self.cfg.min_rows_ratio:.0%}); "
                f"not swapping it in; {hint}"
            )

    def _forget_rejects(self) -> None:
        """The careful path records every reject again, the fast path's included."""
        if self.rejected:
            self.audit.delete_rejects(self.run_id)
            self.rejected = 0

    # -- keys, checks -------------------------------------------------------------------------

    def _build_keys(self, streamed: int, *, fast: bool) -> int:
        with self.phase("index"):
            try:
                removed = add_keys(self.work, self.ds, self.cfg, self.fresh, self.run_id, self.audit, self.log)
            except psycopg2.errors.ProgramLimitExceeded as exc:
                if not fast:  # the careful path has already rejected every value too long to index
                    raise
                raise BadRowsFound(f"a value is too long for an index entry ({one_line(exc)})") from exc
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


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
