"""Row-level rules: the header check, and the careful path's per-line checks.

The careful path only runs after the fast path met a bad row. Python checks what
only the raw bytes can tell (field count, UTF-8, NUL, CR); PostgreSQL then judges
the types with ``pg_input_is_valid``, so "fits its type" means exactly what COPY means.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass

from psycopg2 import sql

from imdb_loader import ddl
from imdb_loader.datasets import NULL_MARKER, Dataset
from imdb_loader.download import GZIP_MAGIC
from imdb_loader.errors import SourceFormatError

_QUOTE = ddl.COPY_QUOTE.encode()


_NAMED_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}
SHOWN_HEADER_CHARS = 300


def visible(raw: bytes) -> str:
    r"""Bytes as text a person can read and PostgreSQL can store: printable characters as they
    are, everything else (NUL, CR, a byte-order mark, invalid UTF-8) as ``\xNN`` escapes."""
    out = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        if ch.isprintable():
            out.append(ch)
        elif ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        else:
            out.append("".join(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape")))
    return "".join(out)


def check_header(ds: Dataset, header: bytes, url: str) -> None:
    line = header.removesuffix(b"\n")
    if line == "\t".join(ds.header).encode():
        return
    if line.startswith(GZIP_MAGIC):
        raise SourceFormatError(
            f"{url}: the file is compressed twice: after gunzip it starts with the gzip bytes \\x1f\\x8b again"
        )
    got = [visible(name) for name in line.split(b"\t")]
    missing = [c for c in ds.header if c not in got]
    unexpected = [c for c in got if c not in ds.header]
    detail = []
    if line.startswith(codecs.BOM_UTF8):
        detail.append("it starts with a UTF-8 byte-order mark \\xef\\xbb\\xbf")
    if line.endswith(b"\r"):
        detail.append("it ends with \\r\\n (Windows line endings)")
    if missing:
        detail.append("missing " + ", ".join(missing))
    if unexpected:
        detail.append("unexpected " + ", ".join(unexpected))
    if not detail:
        detail.append("same columns in another order")
    shown = " | ".join(got)
    if len(shown) > SHOWN_HEADER_CHARS:
        shown = shown[:SHOWN_HEADER_CHARS] + f"... ({len(line):,} bytes)"
    raise SourceFormatError(
        f"{url}: the header changed ({'; '.join(detail)}): expected {' | '.join(ds.header)}; got {shown}"
    )


def line_problem(raw: bytes, n_fields: int) -> str | None:
    """Why this line (without its newline) cannot be loaded as is, or None."""
    if b"\r" in raw:
        return "carriage return (CR) inside the line"
    if b"\x00" in raw:
        return "NUL byte inside the line"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start + 1}"
    found = raw.count(b"\t") + 1
    if found != n_fields:
        return f"expected {n_fields} fields, found {found}"
    return None


def csv_quote_fields(raw: bytes) -> bytes:
    """Quote the fields that contain the COPY quote byte, the CSV way."""
    out = []
    for value in raw.split(b"\t"):
        quoted = _QUOTE + value.replace(_QUOTE, _QUOTE + _QUOTE) + _QUOTE if _QUOTE in value else value
        out.append(quoted)
    return b"\t".join(out)


class careful_rows:  # noqa: N801 - reads like the function it replaces
    """File-like ``read()`` for COPY: good lines prefixed with their line number."""

    def __init__(self, ds: Dataset, lines: Iterable[bytes], keep: int | None) -> None:
        self._lines = iter(lines)
        self._n_fields = len(ds.columns)
        self._keep = keep
        self.rejects: list[tuple[int, str, bytes]] = []
        """The first ``keep`` rejected lines; ``rejected`` counts them all."""
        self.rejected = 0
        self._line_number = 1  # the header was line 1
        self._done = False

    def read(self, size: int = 1 << 18) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        total = 0
        for line in self._lines:
            self._line_number += 1
            raw = line[:-1] if line.endswith(b"\n") else line
            problem = line_problem(raw, self._n_fields)
            if problem is not None:
                self.rejected += 1
                if self._keep is None or len(self.rejects) < self._keep:
                    self.rejects.append((self._line_number, problem, raw))
                continue
            if _QUOTE in raw:
                raw = csv_quote_fields(raw)
            piece = b"%d\t%s\n" % (self._line_number, raw)
            out.append(piece)
            total += len(piece)
            if total >= size:
                return b"".join(out)
        self._done = True
        return b"".join(out)


@dataclass(frozen=True)
class TypedInsert:
    prepare: list[sql.Composed]
    insert: sql.Composed
    rejects: sql.Composed
    """The first ``%(keep)s`` rejected rows."""
    count_rejects: sql.Composed


MAX_INDEXED_BYTES = 2600
"""A B-tree entry holds at most 2,704 bytes on 8 kB pages; a key or indexed value longer than
this (IMDb's are about ten) is rejected, leaving room for the entry's header and other columns."""


def _reason_exprs(ds: Dataset) -> list[sql.Composed]:
    """One CASE per rule; ``concat_ws`` of them is the row's reason, empty when it is good."""
    indexed = set(ds.primary_key) | {c for columns in ds.indexes for c in columns}
    exprs = []
    for col in ds.columns:
        ident = sql.Identifier(col.name)
        if not col.nullable:
            exprs.append(
                sql.SQL("CASE WHEN {c} IS NULL THEN {msg} END").format(
                    c=ident, msg=sql.Literal(f"{col.name}: {NULL_MARKER} in a key column")
                )
            )
        if col.name in ds.primary_key and col.pg_type == "text":
            exprs.append(
                sql.SQL("CASE WHEN {c} = '' THEN {msg} END").format(c=ident, msg=sql.Literal(f"{col.name}: empty key"))
            )
        if col.name in indexed:
            exprs.append(
                sql.SQL(
                    "CASE WHEN octet_length({c}) > {limit} "
                    "THEN format({msg}, to_char(octet_length({c}), 'FM999,999,999')) END"
                ).format(
                    c=ident,
                    limit=sql.Literal(MAX_INDEXED_BYTES),
                    msg=sql.Literal(
                        f"{col.name}: %s bytes, too long for an index entry (at most {MAX_INDEXED_BYTES:,})"
                    ),
                )
            )
        if col.pg_type != "text":
            exprs.append(
                sql.SQL(
                    "CASE WHEN {c} IS NOT NULL AND NOT pg_input_is_valid({c}, {t}) "
                    "THEN {name} || ': ' || (pg_input_error_info({c}, {t})).message END"
                ).format(c=ident, t=sql.Literal(col.pg_type), name=sql.Literal(col.name))
            )
        digits = ddl.decimal_digits(col)
        if digits:
            exprs.append(_exact_decimal_reason(ident, col.name, digits[1]))
    return exprs


def _exact_decimal_reason(ident: sql.Identifier, name: str, scale: int) -> sql.Composed:
    """NaN, or more decimals than the column keeps: PostgreSQL would store something else."""
    return sql.SQL(
        "CASE WHEN {c} IS NOT NULL AND pg_input_is_valid({c}, 'numeric') THEN CASE "
        "WHEN {c}::numeric = 'NaN' THEN {nan} "
        "WHEN scale({c}::numeric) > {s} THEN format({decimals}, {c}) END END"
    ).format(
        c=ident,
        s=sql.Literal(scale),
        nan=sql.Literal(f"{name}: NaN is not a number"),
        decimals=sql.Literal(f"{name}: %s has more than {scale} decimal place(s); storing it would round it"),
    )


def typed_insert_sql(ds: Dataset, schema: str, fresh: str, staging: str) -> TypedInsert:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in ds.column_names)
    casts = sql.SQL(", ").join(
        sql.SQL("{}::{}").format(sql.Identifier(c.name), sql.SQL(ddl.storage_type(c))) for c in ds.columns
    )
    keys = ddl.key_columns(ds)
    raw = ddl.source_line(ds, typed=False)
    key_text = ddl.key_text(ds)
    prepare = [
        sql.SQL(
            "CREATE TEMP TABLE _checked ON COMMIT DROP AS SELECT s.*, concat_ws('; ', {}) AS reason FROM {} s"
        ).format(sql.SQL(", ").join(_reason_exprs(ds)), sql.Identifier(staging)),
        sql.SQL(
            "CREATE TEMP TABLE _ranked ON COMMIT DROP AS SELECT c.*, row_number() OVER w AS rn, "
            "first_value(line_number) OVER w AS first_line FROM _checked c WHERE reason = '' "
            "WINDOW w AS (PARTITION BY {} ORDER BY line_number)"
        ).format(keys),
    ]
    insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM _ranked WHERE rn = 1 ORDER BY line_number").format(
        ddl.qualified(schema, fresh), cols, casts
    )
    rejects = sql.SQL(
        "SELECT line_number, reason, raw FROM ("
        " SELECT line_number, reason, {raw} AS raw FROM _checked WHERE reason <> ''"
        " UNION ALL"
        " SELECT line_number,"
        "  format('duplicate key (%%s)=(%%s), first seen on line %%s', {key_names}, {key_text}, first_line),"
        " {raw} FROM _ranked WHERE rn > 1"
        ") r ORDER BY line_number LIMIT %(keep)s"
    ).format(raw=raw, key_names=sql.Literal(", ".join(ds.primary_key)), key_text=key_text)
    count_rejects = sql.SQL(
        "SELECT (SELECT count(*) FROM _checked WHERE reason <> '') + (SELECT count(*) FROM _ranked WHERE rn > 1)"
    )
    return TypedInsert(prepare=prepare, insert=insert, rejects=rejects, count_rejects=count_rejects)
