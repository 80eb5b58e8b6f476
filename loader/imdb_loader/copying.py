"""COPY of one source version into a fresh table: the fast path and the careful path.

The fast path streams the gzip straight into ``COPY ... FREEZE`` of a fresh table, with no
per-row Python. When PostgreSQL refuses a row (wrong field count, bad type, invalid UTF-8,
NUL, CR, a CHECK), the same source version is read again through the careful path, which
checks each line in Python, lets PostgreSQL judge the types with ``pg_input_is_valid`` and
records every bad line in ``load_rejects``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg2
import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import cursor as Cursor
from requests import Response

from imdb_loader import ddl
from imdb_loader.audit import Audit
from imdb_loader.config import LoadConfig
from imdb_loader.datasets import Dataset
from imdb_loader.download import HttpSource, SourceVersion, gunzip
from imdb_loader.errors import BadRowsFound
from imdb_loader.logs import DatasetLog
from imdb_loader.progress import Progress
from imdb_loader.rows import careful_rows, check_header, typed_insert_sql
from imdb_loader.stream import PipeReader

COPY_READ_SIZE = 1 << 18
KEPT_REJECTS_BEYOND_LIMIT = 100
MAX_HEADER_BYTES = 1 << 16
"""A header line is a few dozen bytes; a file with no line end in its first 64 KiB is not TSV."""
REFUSED_ROW = (
    psycopg2.DataError,
    psycopg2.errors.BadCopyFileFormat,
    psycopg2.errors.CheckViolation,
    psycopg2.errors.NotNullViolation,
)
"""What COPY raises for a row it cannot take: the careful path finds and rejects it."""


@dataclass
class FreshCopy:
    """Fills the fresh table ``fresh`` from one response of ``version``; counts what it rejects."""

    ds: Dataset
    cfg: LoadConfig
    fresh: str
    work: Connection
    source: HttpSource
    version: SourceVersion
    url: str
    audit: Audit
    run_id: str
    log: DatasetLog
    rejected: int = 0
    reader_now: PipeReader | None = None
    """The pipe COPY is reading now; a stop aborts it."""

    def reader(self, response: Response, *, refuse_quote_byte: bool) -> PipeReader:
        """The body as lines, header checked. The fast path refuses the COPY quote byte,
        which CSV mode would silently strip; the careful path quotes it instead."""
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
        self.reader_now = reader
        try:
            check_header(self.ds, reader.readline(limit=MAX_HEADER_BYTES), self.url)
        except BaseException:
            reader.close()
            raise
        return reader

    def create_fresh(self) -> None:
        # One round trip: the table and its column comments (users see them in psql and dbt docs).
        statements = [
            ddl.create_table(self.ds, self.cfg.schema, self.fresh),
            *ddl.comments(self.ds, self.cfg.schema, self.fresh),
        ]
        with self.work.cursor() as cur:
            cur.execute(sql.SQL("; ").join(statements))

    def fast(self, response: Response) -> int:
        reader = self.reader(response, refuse_quote_byte=True)
        try:
            self.create_fresh()
            with self.work.cursor() as cur:
                target = ddl.qualified(self.cfg.schema, self.fresh)
                cur.copy_expert(ddl.copy_from_stdin(self.ds, target, freeze=True), reader, size=COPY_READ_SIZE)
        except psycopg2.Error as exc:
            if reader.failure is not None:
                raise reader.failure from None
            if isinstance(exc, REFUSED_ROW):
                raise BadRowsFound(f"PostgreSQL refused a row ({copy_error_where(exc)})") from exc
            raise
        finally:
            reader.close()
        return reader.lines - 1

    def careful(self, response: Response) -> int:
        """Lines read (excluding the header); rejects recorded; good rows in the fresh table."""
        reader = self.reader(response, refuse_quote_byte=False)
        staging = f"_stage_{self.ds.table}"
        kept_limit = self.cfg.reject_limit.rejects_to_keep(KEPT_REJECTS_BEYOND_LIMIT)
        try:
            self.create_fresh()
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

    def _record_rejects(self, rows: list[tuple[int, str, bytes]], count: int, kept_limit: int | None) -> None:
        """Keep every reject of a load that passes, and the first limit+100 of one that fails."""
        room = len(rows) if kept_limit is None else max(kept_limit - self.rejected, 0)
        self.audit.add_rejects(self.run_id, self.ds.name, rows[:room])
        self.rejected += count

    def _typed_insert(self, cur: Cursor, staging: str, keep: int | None) -> tuple[list[tuple[int, str, bytes]], int]:
        """Move valid, first-seen rows into the fresh table; return (first rejects, reject count)."""
        statements = typed_insert_sql(self.ds, self.cfg.schema, self.fresh, staging)
        for stmt in statements.prepare:
            cur.execute(stmt)
        cur.execute(statements.insert)
        cur.execute(statements.rejects, {"keep": keep})
        rows = [(int(line), reason, raw.encode()) for line, reason, raw in cur.fetchall()]
        cur.execute(statements.count_rejects)
        counted = cur.fetchone()
        return rows, int(counted[0]) if counted else 0


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
