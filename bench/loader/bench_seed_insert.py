"""The INSERT baseline, as a contender: Python reads the gzip line by line, turns ``\\N``
into None and INSERTs with psycopg2 in batches of 10,000 rows (one commit per batch).

Run as its own process by the benchmark (so its peak RSS is its own). It loads into the
same typed table our loader creates, then builds the same keys, and prints one JSON line:
rows, bytes (uncompressed, of the rows it read), insert and key seconds, and whether it
stopped at ``--limit`` (a prefix). Connection: libpq's PG* variables.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
from collections.abc import Iterator

import psycopg2
import psycopg2.extras
from psycopg2 import sql

from imdb_loader import datasets, ddl
from imdb_loader.datasets import NULL_MARKER, Dataset

BATCH_ROWS = 10_000


class Source:
    """Batches of rows from the gzip; remembers whether it stopped before the end."""

    def __init__(self, gz: gzip.GzipFile, limit: int | None) -> None:
        self.text = io.TextIOWrapper(gz, encoding="utf-8")
        self.limit = limit
        self.prefix = False

    def batches(self) -> Iterator[list[tuple[str | None, ...]]]:
        self.text.readline()  # the header
        batch: list[tuple[str | None, ...]] = []
        for count, line in enumerate(self.text, start=1):
            fields = line.rstrip("\n").split("\t")
            batch.append(tuple(None if f == NULL_MARKER else f for f in fields))
            if len(batch) == BATCH_ROWS:
                yield batch
                batch = []
            if self.limit is not None and count >= self.limit:
                self.prefix = self.text.readline() != ""
                break
        if batch:
            yield batch


def insert_statement(ds: Dataset, table: sql.Composable, method: str) -> sql.Composed:
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in ds.column_names)
    if method == "execute_values":
        return sql.SQL("INSERT INTO {} ({}) VALUES %s").format(table, cols)
    marks = sql.SQL(", ").join(sql.Placeholder() * len(ds.columns))
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(table, cols, marks)


def build_keys(cur: psycopg2.extensions.cursor, ds: Dataset, table: sql.Composable) -> None:
    """The keys our loader builds: the primary key and the registry's secondary indexes."""
    cur.execute("SET maintenance_work_mem = '512MB'")
    cur.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(table, ddl.key_columns(ds)))
    for columns in ds.indexes:
        cur.execute(
            sql.SQL("CREATE INDEX ON {} ({})").format(table, sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dataset")
    p.add_argument("--file", required=True, help="the local .tsv.gz")
    p.add_argument("--method", choices=("executemany", "execute_values"), required=True)
    p.add_argument("--limit", type=int, default=None, help="stop after this many rows (a prefix)")
    p.add_argument("--schema", default="imdb_raw")
    args = p.parse_args()
    ds = datasets.get(args.dataset)
    conn = psycopg2.connect("", application_name="bench-seed")
    table = ddl.qualified(args.schema, ds.table)
    with conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(args.schema)))
        cur.execute(ddl.create_table(ds, args.schema, ds.table))
    statement = insert_statement(ds, table, args.method).as_string(conn)
    rows = 0
    started = time.monotonic()
    with gzip.open(args.file, "rb") as gz:
        source = Source(gz, args.limit)
        for batch in source.batches():
            with conn.cursor() as cur:
                if args.method == "execute_values":
                    psycopg2.extras.execute_values(cur, statement, batch, page_size=BATCH_ROWS)
                else:
                    cur.executemany(statement, batch)
            conn.commit()
            rows += len(batch)
        read_bytes = gz.tell()  # uncompressed bytes read, give or take the text buffer
    inserted = time.monotonic()
    with conn, conn.cursor() as cur:
        build_keys(cur, ds, table)
    keyed = time.monotonic()
    conn.close()
    result = {
        "rows": rows,
        "bytes": read_bytes,
        "prefix": source.prefix,
        "insert_seconds": inserted - started,
        "keys_seconds": keyed - inserted,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
