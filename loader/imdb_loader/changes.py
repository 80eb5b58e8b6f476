"""Change capture: which keys a new version added, changed and removed against the live table.

Just before the swap, in the swap's own transaction, the new table is compared with the live
one it is about to replace: a full join on the primary key, the other columns compared with
``IS DISTINCT FROM``. One row per differing key goes to ``<schema>.load_changes``, and the
counts go to the run's ``load_runs`` row. The change rows, the swap and the audit row commit
together or not at all, so the log always describes the table that is live.

The shape is one table for every dataset, with the key in typed columns named as the
entities they identify (``tconst``, ``nconst``, ``ordering``): a later model reads "the titles
touched by these runs" as ``SELECT DISTINCT tconst`` and joins the raw tables on their keys.

When there is nothing to compare with, or a comparison would not mean anything, the run
records ``changes_full`` with a ``FullReason`` and writes no change rows (see ``FullReason``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import cursor as Cursor

from imdb_loader import ddl
from imdb_loader.datasets import Dataset
from imdb_loader.errors import DatabaseError
from imdb_loader.outcome import ChangeKind, FullReason

TABLE = "load_changes"
CAPTURE_MARKER = "imdb-load: change capture"
"""Leads the capture statement's text, so that ``pg_stat_activity`` shows which step is running."""

LOG_KEY_COLUMNS: dict[str, str] = {"tconst": 'text COLLATE "C"', "nconst": 'text COLLATE "C"', "ordering": "integer"}
"""The change log's key columns, typed and collated as the raw tables' keys so joins on them are plain."""
_LOGGED_AS = {"title_id": "tconst"}
"""Raw key columns logged under another name: title.akas' title_id is a tconst."""
PLANNER_SETTINGS = {"enable_hashjoin": "off"}
"""For the capture statement only. Both versions have their primary-key index, and their heaps
are in key order (the files are sorted), so a merge join streams them side by side in constant
memory; the hash join the planner prefers holds one version in memory, spills both to disk
once it outgrows work_mem, and measured slower even where it fits (bench/loader/bench_changes.py)."""

DDL = """
CREATE TABLE IF NOT EXISTS {changes} (
    run_id    text NOT NULL,
    dataset   text NOT NULL,
    change    text NOT NULL CONSTRAINT load_changes_change_check CHECK ({kind_check}),
    {key_columns}
);
CREATE UNIQUE INDEX IF NOT EXISTS load_changes_run_key_idx
    ON {changes} (run_id, tconst, nconst, ordering) NULLS NOT DISTINCT;
COMMENT ON TABLE {changes} IS
    'Keys each loaded run added, changed or removed against the version it replaced; see load_runs.changes_full.';
COMMENT ON COLUMN {changes}.run_id IS 'The run (load_runs.run_id) whose swap this change came with.';
COMMENT ON COLUMN {changes}.tconst IS 'Title of the key: tconst, or title.akas'' title_id; NULL for name.basics.';
COMMENT ON COLUMN {changes}.nconst IS 'Person of the key (name.basics); NULL for the title datasets.';
COMMENT ON COLUMN {changes}.ordering IS 'Second part of the key of title.akas and title.principals, else NULL.';
"""


def ddl_statements(schema: str) -> sql.Composed:
    kinds = sql.SQL(", ").join(sql.Literal(str(k)) for k in ChangeKind)
    return sql.SQL(DDL).format(
        changes=ddl.qualified(schema, TABLE),
        kind_check=sql.SQL("change IN ({})").format(kinds),
        key_columns=sql.SQL(",\n    ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type)) for name, pg_type in LOG_KEY_COLUMNS.items()
        ),
    )


def log_column(ds: Dataset, key: str) -> str:
    """The change log's column for one of the dataset's primary-key columns."""
    name = _LOGGED_AS.get(key, key)
    if name not in LOG_KEY_COLUMNS:
        raise KeyError(f"{ds.name}: key column {key!r} has no column in {TABLE}; add it to LOG_KEY_COLUMNS")
    return name


@dataclass(frozen=True)
class Changes:
    """What one loaded run recorded: counts of keys, or ``full_reason`` and no counts."""

    added: int | None = None
    changed: int | None = None
    removed: int | None = None
    full_reason: FullReason | None = None

    def __post_init__(self) -> None:
        counts = (self.added, self.changed, self.removed)
        if self.full_reason is not None and counts != (None, None, None):
            raise ValueError("a full change record has no counts")
        if self.full_reason is None and not all(isinstance(n, int) and n >= 0 for n in counts):
            raise ValueError(f"changes: counts must be whole numbers >= 0, got {counts}")

    @classmethod
    def everything(cls, reason: FullReason) -> Changes:
        return cls(full_reason=reason)

    @classmethod
    def counted(cls, by_kind: dict[ChangeKind, int]) -> Changes:
        return cls(
            added=by_kind.get(ChangeKind.ADDED, 0),
            changed=by_kind.get(ChangeKind.CHANGED, 0),
            removed=by_kind.get(ChangeKind.REMOVED, 0),
        )

    @property
    def full(self) -> bool:
        return self.full_reason is not None

    def describe(self) -> str:
        if self.full_reason is not None:
            return f"everything changed ({_WHY_FULL[self.full_reason]})"
        return f"{self.added:,} added, {self.changed:,} changed, {self.removed:,} removed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "full": self.full,
            "full_reason": None if self.full_reason is None else str(self.full_reason),
        }


NOTHING = Changes(added=0, changed=0, removed=0)
"""An unchanged source: the live table stays, nothing changed."""

_WHY_FULL = {
    FullReason.NO_LIVE_TABLE: "no live table to compare with",
    FullReason.FORCED: "--force",
    FullReason.COLUMNS_CHANGED: "the live table has other columns or another key",
}


# -- the capture --------------------------------------------------------------------------------------

_SHAPE = """
SELECT 'c', a.attname::text, format_type(a.atttypid, a.atttypmod), a.attcollation::regcollation::text
FROM pg_attribute a WHERE a.attrelid = %(t)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'k', a.attname::text, '', ''
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = %(t)s::regclass AND i.indisprimary
ORDER BY 1, 2
"""
"""A table's columns (name, type, collation) and primary key, to see whether two versions compare."""


def _shape(cur: Cursor, schema: str, table: str) -> list[tuple[Any, ...]]:
    cur.execute(_SHAPE, {"t": f'"{schema}"."{table}"'})
    return list(cur.fetchall())


def _live_exists(cur: Cursor, schema: str, table: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{table}"',))
    row = cur.fetchone()
    return bool(row and row[0])


def rows_differ(ds: Dataset) -> sql.Composable:
    """True when the live row ``o`` and the new row ``n`` of one key differ in a non-key column.

    Column by column, NULL-safe, stopping at the first difference: cheaper than hashing or
    printing each whole row (md5(row::text), hashtextextended(row::text, 0)), as measured."""
    values = [c for c in ds.column_names if c not in ds.primary_key]
    if not values:
        return sql.SQL("false")

    def side(alias: str) -> sql.Composable:
        return sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in values)

    return sql.SQL("ROW({}) IS DISTINCT FROM ROW({})").format(side("o"), side("n"))


def capture_sql(ds: Dataset, schema: str, fresh: str, differs: sql.Composable | None = None) -> sql.Composed:
    """One statement: log every differing key of ``fresh`` against the live table, count by kind.

    The primary-key columns are NOT NULL, so a NULL key column means the row is missing on that
    side. ``differs`` replaces ``rows_differ`` (the benchmark measures alternatives with it).
    """
    keys = ds.primary_key
    first = sql.Identifier(keys[0])
    return sql.SQL(
        "/* {marker} */ WITH logged AS ("
        "INSERT INTO {changes} (run_id, dataset, change, {log_columns}) "
        "SELECT %(run_id)s, %(dataset)s, "
        "CASE WHEN o.{first} IS NULL THEN {added} WHEN n.{first} IS NULL THEN {removed} ELSE {changed} END, "
        "{key_values} "
        "FROM {live} AS o FULL JOIN {new} AS n ON {on} "
        "WHERE o.{first} IS NULL OR n.{first} IS NULL OR {differs} "
        "RETURNING change) "
        "SELECT change, count(*) FROM logged GROUP BY change"
    ).format(
        marker=sql.SQL(CAPTURE_MARKER),
        changes=ddl.qualified(schema, TABLE),
        log_columns=sql.SQL(", ").join(sql.Identifier(log_column(ds, k)) for k in keys),
        first=first,
        added=sql.Literal(str(ChangeKind.ADDED)),
        removed=sql.Literal(str(ChangeKind.REMOVED)),
        changed=sql.Literal(str(ChangeKind.CHANGED)),
        key_values=sql.SQL(", ").join(sql.SQL("coalesce(n.{k}, o.{k})").format(k=sql.Identifier(k)) for k in keys),
        live=ddl.qualified(schema, ds.table),
        new=ddl.qualified(schema, fresh),
        on=sql.SQL(" AND ").join(sql.SQL("o.{k} = n.{k}").format(k=sql.Identifier(k)) for k in keys),
        differs=rows_differ(ds) if differs is None else differs,
    )


@dataclass(frozen=True)
class Capture:
    """Compares the fresh table with the live one, in the caller's (the swap's) transaction."""

    ds: Dataset
    schema: str
    fresh: str
    run_id: str
    forced: bool
    lock_wait_s: float
    """The longest the capture waits for a lock on the live table or the change log."""

    def run(self, cur: Cursor) -> Changes:
        if not _live_exists(cur, self.schema, self.ds.table):
            return Changes.everything(FullReason.NO_LIVE_TABLE)
        if self.forced:
            return Changes.everything(FullReason.FORCED)
        if _shape(cur, self.schema, self.ds.table) != _shape(cur, self.schema, self.fresh):
            return Changes.everything(FullReason.COLUMNS_CHANGED)
        settings = {**PLANNER_SETTINGS, "lock_timeout": f"{max(1, round(self.lock_wait_s * 1000))}ms"}
        for name, value in settings.items():
            cur.execute("SELECT set_config(%s, %s, true)", (name, value))
        try:
            cur.execute(capture_sql(self.ds, self.schema, self.fresh), {"run_id": self.run_id, "dataset": self.ds.name})
        except psycopg2.errors.LockNotAvailable:
            raise DatabaseError(
                f"{self.ds.name}: could not compare the new version with the live table: another session held "
                f"a lock on {self.schema}.{self.ds.table} or {self.schema}.{TABLE} for over {self.lock_wait_s:.0f}s; "
                "the previous table stays live"
            ) from None
        counts = {ChangeKind(kind): int(n) for kind, n in cur.fetchall()}
        for name in settings:  # back to the session's values for the swap that follows
            cur.execute(sql.SQL("RESET {}").format(sql.Identifier(name)))
        return Changes.counted(counts)
