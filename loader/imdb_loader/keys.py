"""Primary key and secondary indexes, built after the data is in.

If the fast path loaded duplicate keys, the later copies are moved to load_rejects.
Their source line numbers come from the heap itself: a single COPY into a fresh table
fills pages in file order and offsets 1..n within each page, so a row's line number is
1 (the header) + rows in earlier pages + its offset in its page.
"""

from __future__ import annotations

import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from imdb_loader import ddl
from imdb_loader.audit import Audit
from imdb_loader.config import LoadConfig
from imdb_loader.datasets import Dataset
from imdb_loader.logs import DatasetLog

KEPT_DUPLICATES = 10_000


def add_keys(  # noqa: PLR0917 - one call site, each argument a different thing
    conn: Connection, ds: Dataset, cfg: LoadConfig, fresh: str, run_id: str, audit: Audit, log: DatasetLog
) -> int:
    """Build keys on the fresh table; returns how many duplicate rows were removed."""
    table = ddl.qualified(cfg.schema, fresh)
    add_pk = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
        table, sql.Identifier(f"{fresh}_pkey"[:63]), ddl.key_columns(ds)
    )
    removed = 0
    with conn.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = %s", (cfg.maintenance_work_mem,))
        cur.execute("SAVEPOINT add_pk")
        try:
            cur.execute(add_pk)
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT add_pk")
            removed = _remove_duplicates(conn, ds, table, run_id, audit)
            log.warning("removed %s rows with a duplicate primary key (%s)", f"{removed:,}", ", ".join(ds.primary_key))
            cur.execute(add_pk)
        for columns in ds.indexes:
            cur.execute(
                sql.SQL("CREATE INDEX {} ON {} ({})").format(
                    sql.Identifier(f"{fresh}_{'_'.join(columns)}_idx"[:63]),
                    table,
                    sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                )
            )
    return removed


def _remove_duplicates(conn: Connection, ds: Dataset, table: sql.Composed, run_id: str, audit: Audit) -> int:
    """Moves every later copy of a duplicated key to load_rejects; returns how many there were.

    It costs about one more key build, however many duplicates there are:
    - the duplicated keys come from one sorted pass over the key columns alone (a hash
      aggregate of every key spills to disk and was twice as slow; a parallel sort was slower);
    - only the rows with those keys are read again, by a hash semi join on that short list;
    - their line numbers need the row count of every page before theirs: one count per stretch
      between two such pages, each a TID range scan that reads the pages and no tuple's ctid.
    """
    keys = ddl.key_columns(ds)
    with conn.cursor() as cur:
        # Serial: three loads share two cores, and gathering every key from workers cost more.
        cur.execute("SET LOCAL enable_hashagg = off; SET LOCAL max_parallel_workers_per_gather = 0")
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE duplicated_keys ON COMMIT DROP AS "
                "SELECT {keys} FROM {t} GROUP BY {keys} HAVING count(*) > 1"
            ).format(t=table, keys=keys)
        )
        cur.execute("RESET enable_hashagg; RESET max_parallel_workers_per_gather; ANALYZE duplicated_keys")
        cur.execute(
            _DUPLICATES.format(t=table, keys=keys, raw=ddl.source_line(ds, typed=True), key_text=ddl.key_text(ds))
        )
        rows = cur.fetchall()
    key_names = ", ".join(ds.primary_key)
    audit.add_rejects(
        run_id,
        ds.name,
        [
            (int(line), f"duplicate key ({key_names})=({key}), first seen on line {first}", raw_line.encode())
            for line, first, key, raw_line in rows[:KEPT_DUPLICATES]
        ],
    )
    return len(rows)


_DUPLICATES = sql.SQL(
    """
    WITH dups AS (
        SELECT ctid, (ctid::text::point)[0]::bigint AS blk, (ctid::text::point)[1]::bigint AS pos, {keys},
               row_number() OVER w AS rn, first_value(ctid) OVER w AS first_ctid, {raw} AS raw
        FROM {t} WHERE ({keys}) IN (SELECT {keys} FROM duplicated_keys)
        WINDOW w AS (PARTITION BY {keys} ORDER BY ctid)
    ), stretches AS (
        SELECT blk, lag(blk, 1, 0::bigint) OVER (ORDER BY blk) AS prev FROM (SELECT DISTINCT blk FROM dups) b
    ), pages AS (
        SELECT s.blk, sum(c.n) OVER (ORDER BY s.blk) AS rows_before
        FROM stretches s CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM {t}
            WHERE ctid >= ('(' || s.prev || ',0)')::tid AND ctid < ('(' || s.blk || ',0)')::tid
        ) c
    ), located AS (
        SELECT d.*, p.rows_before + d.pos + 1 AS line_number,
               fp.rows_before + (d.first_ctid::text::point)[1]::bigint + 1 AS first_line
        FROM dups d
        JOIN pages p ON p.blk = d.blk
        JOIN pages fp ON fp.blk = (d.first_ctid::text::point)[0]::bigint
    ), deleted AS (
        DELETE FROM {t} USING located l WHERE {t}.ctid = l.ctid AND l.rn > 1 RETURNING l.*
    )
    SELECT line_number, first_line, {key_text}, raw FROM deleted ORDER BY line_number
    """
)
