"""SQL derived from the dataset registry. Identifiers are always quoted by psycopg2.sql."""

from __future__ import annotations

import re

from psycopg2 import sql

from imdb_loader.datasets import NULL_MARKER, Column, Dataset

# COPY options that store every IMDb byte as it is. Text format would turn "\t", "\n",
# "\\" and a line "\." into something else; CSV with a quote byte that IMDb never
# uses leaves backslashes and double quotes alone, and only an unquoted "\N" is NULL.
COPY_QUOTE = "\x01"
COPY_OPTIONS = sql.SQL("(FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01', NULL {null}, ENCODING 'UTF8')").format(
    null=sql.Literal(NULL_MARKER)
)


def qualified(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


_DECIMAL = re.compile(r"numeric\((\d+),\s*(\d+)\)")


def decimal_digits(column: Column) -> tuple[int, int] | None:
    """(precision, scale) of a ``numeric(p,s)`` column, else None."""
    match = _DECIMAL.fullmatch(column.pg_type)
    return (int(match.group(1)), int(match.group(2))) if match else None


def storage_type(column: Column) -> str:
    """The type the raw table stores. ``numeric(p,s)`` would round 5.55 to 5.6 without a word,
    so it is stored as plain ``numeric`` and a CHECK refuses what does not fit exactly."""
    return "numeric" if decimal_digits(column) else column.pg_type


def column_type(ds: Dataset, column: Column) -> sql.Composable:
    """Key text columns sort byte-wise: ids are ASCII, and the "C" collation builds
    the primary key several times faster than a libc UTF-8 locale would."""
    if column.pg_type == "text" and column.name in ds.primary_key:
        return sql.SQL('text COLLATE "C"')
    return sql.SQL(storage_type(column))


def column_checks(ds: Dataset, column: Column) -> list[sql.Composable]:
    """Rules COPY enforces at no measurable cost; the careful path gives each a reason."""
    ident = sql.Identifier(column.name)
    checks: list[sql.Composable] = []
    if column.pg_type == "text" and column.name in ds.primary_key:
        checks.append(sql.SQL("CHECK ({} <> '')").format(ident))
    digits = decimal_digits(column)
    if digits:
        precision, scale = digits
        checks.append(
            sql.SQL("CHECK ({c} <> 'NaN' AND scale({c}) <= {s} AND abs({c}) < {bound})").format(
                c=ident, s=sql.Literal(scale), bound=sql.Literal(10 ** (precision - scale))
            )
        )
    return checks


def create_table(ds: Dataset, schema: str, table: str) -> sql.Composed:
    cols = sql.SQL(", ").join(
        sql.SQL(" ").join(
            [
                sql.Identifier(c.name),
                column_type(ds, c),
                sql.SQL("" if c.nullable else "NOT NULL"),
                *column_checks(ds, c),
            ]
        )
        for c in ds.columns
    )
    return sql.SQL("CREATE TABLE {} ({})").format(qualified(schema, table), cols)


def create_staging_table(ds: Dataset, table: str) -> sql.Composed:
    """All-text twin with the source line number, for the careful path."""
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c.name)) for c in ds.columns)
    return sql.SQL("CREATE TEMP TABLE {} (line_number bigint NOT NULL, {}) ON COMMIT DROP").format(
        sql.Identifier(table), cols
    )


def comments(ds: Dataset, schema: str, table: str) -> list[sql.Composed]:
    target = qualified(schema, table)
    out = [sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(f"IMDb {ds.file_name}: {ds.description}"))]
    for col in ds.columns:
        out.append(
            sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                target, sql.Identifier(col.name), sql.Literal(f"{col.source}: {col.description}")
            )
        )
    return out


def copy_from_stdin(ds: Dataset, target: sql.Composable, *, freeze: bool, line_numbers: bool = False) -> sql.Composed:
    names = (["line_number"] if line_numbers else []) + list(ds.column_names)
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    options = COPY_OPTIONS
    if freeze:
        options = sql.SQL(
            "(FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01', NULL {null}, ENCODING 'UTF8', FREEZE)"
        ).format(null=sql.Literal(NULL_MARKER))
    return sql.SQL("COPY {} ({}) FROM STDIN WITH {}").format(target, cols, options)


def key_columns(ds: Dataset) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in ds.primary_key)


def primary_key_name(ds: Dataset) -> str:
    return f"{ds.table}_pkey"


def index_name(ds: Dataset, columns: tuple[str, ...]) -> str:
    return f"{ds.table}_{'_'.join(columns)}_idx"


def key_text(ds: Dataset) -> sql.Composed:
    """The primary key as one text value, e.g. ``tt0000001,3``, for reject reasons."""
    return sql.SQL("concat_ws(',', {})").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in ds.primary_key)
    )


def source_line(ds: Dataset, *, typed: bool) -> sql.Composed:
    r"""A row written back as its IMDb line: tab-separated, NULL as \N.

    ``typed`` rows come from a raw table (booleans go back to 0/1); untyped rows come
    from the careful path's all-text staging table and are already the source text.
    """

    def as_text(col: Column) -> sql.Composable:
        ident = sql.Identifier(col.name)
        if not typed:
            return ident
        if col.pg_type == "boolean":
            return sql.SQL("({}::int)::text").format(ident)
        return sql.SQL("{}::text").format(ident)

    return sql.SQL("concat_ws(E'\\t', {})").format(
        sql.SQL(", ").join(sql.SQL("coalesce({}, {})").format(as_text(c), sql.Literal(NULL_MARKER)) for c in ds.columns)
    )
