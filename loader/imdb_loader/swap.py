"""The atomic swap: the fresh table takes the live table's name in one short step.

Readers see the old complete table or the new one, never an empty one. The swap
waits for the live table's lock at most ``lock_timeout_s`` per attempt and retries,
so a long reader delays it but cannot block it (or everyone queued behind it) forever.
Views that read the live table are re-pointed at the new one in the same
transaction, and the old table's grants are carried over.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from imdb_loader import ddl
from imdb_loader.config import LoadConfig
from imdb_loader.connection import SHORT_STATEMENT_TIMEOUT, sets_statement_timeout
from imdb_loader.datasets import Dataset
from imdb_loader.errors import DatabaseError
from imdb_loader.logs import DatasetLog

_DEPENDENT_VIEWS = """
SELECT DISTINCT v.oid, format('%%I.%%I', n.nspname, v.relname), pg_get_viewdef(v.oid)
FROM pg_depend d
JOIN pg_rewrite r ON r.oid = d.objid
JOIN pg_class v ON v.oid = r.ev_class
JOIN pg_namespace n ON n.oid = v.relnamespace
WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = %s::regclass AND v.relkind = 'v' AND v.oid <> d.refobjid
"""

_GRANTS = """
SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid = %s::regclass AND a.grantee <> c.relowner
"""


def _live_exists(cur: psycopg2.extensions.cursor, schema: str, table: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{table}"',))
    row = cur.fetchone()
    return bool(row and row[0])


def _swap_once(cur: psycopg2.extensions.cursor, ds: Dataset, cfg: LoadConfig, fresh: str) -> None:
    schema, live = cfg.schema, ds.table
    live_ref = ddl.qualified(schema, live)
    views: list[tuple[int, str, str]] = []
    grants: list[tuple[str, str]] = []
    old = f"_old_{fresh}"[:63]
    had_live = _live_exists(cur, schema, live)
    if had_live:
        cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(live_ref))
        regclass = f'"{schema}"."{live}"'
        cur.execute(_DEPENDENT_VIEWS, (regclass,))
        views = cur.fetchall()
        cur.execute(_GRANTS, (regclass,))
        grants = cur.fetchall()
        cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(live_ref, sql.Identifier(old)))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(ddl.qualified(schema, fresh), sql.Identifier(live)))
    for _oid, view, definition in views:
        cur.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS ").format(sql.SQL(view)) + sql.SQL(definition))
    for privilege, grantee in grants:
        cur.execute(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privilege), live_ref, sql.SQL(grantee)))
    if had_live:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ddl.qualified(schema, old)))
    _rename_indexes(cur, ds, schema, fresh)


def _rename_indexes(cur: psycopg2.extensions.cursor, ds: Dataset, schema: str, fresh: str) -> None:
    """Give the new table's key and indexes the stable names users and dbt see."""
    renames = [(f"{fresh}_pkey"[:63], ddl.primary_key_name(ds))]
    renames += [(f"{fresh}_{'_'.join(c)}_idx"[:63], ddl.index_name(ds, c)) for c in ds.indexes]
    for current, stable in renames:
        cur.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(ddl.qualified(schema, current), sql.Identifier(stable))
        )


def swap_in(  # noqa: PLR0917 - one call site
    conn: Connection,
    ds: Dataset,
    cfg: LoadConfig,
    fresh: str,
    log: DatasetLog,
    before_commit: Callable[[psycopg2.extensions.cursor], None] | None = None,
) -> None:
    """Swap and commit. ``before_commit`` runs in the same transaction (the audit's 'loaded').
    Raises DatabaseError when readers hold the table for too long."""
    started = time.monotonic()
    with conn.cursor() as cur:
        if not sets_statement_timeout(cfg.dsn):
            cur.execute("SET LOCAL statement_timeout = %s", (SHORT_STATEMENT_TIMEOUT,))
        for attempt in range(1, cfg.swap_attempts + 1):
            cur.execute("SAVEPOINT swap")
            cur.execute("SET LOCAL lock_timeout = %s", (f"{int(cfg.lock_timeout_s * 1000)}ms",))
            # pg_get_viewdef must print fully qualified names for the views to re-bind.
            cur.execute("SET LOCAL search_path = pg_catalog")
            try:
                _swap_once(cur, ds, cfg, fresh)
            except psycopg2.errors.LockNotAvailable:
                cur.execute("ROLLBACK TO SAVEPOINT swap")
                pause = random.uniform(0, min(2.0, 0.1 * attempt))  # noqa: S311 - jitter
                log.warning(
                    "swap: %s.%s is in use by a reader; retrying (attempt %d of %d)",
                    cfg.schema,
                    ds.table,
                    attempt,
                    cfg.swap_attempts,
                    extra={"phase": "swap"},
                )
                time.sleep(pause)
                continue
            cur.execute("RELEASE SAVEPOINT swap")
            if before_commit is not None:
                before_commit(cur)
            conn.commit()
            return
    conn.rollback()
    raise DatabaseError(
        f"{ds.name}: could not swap in the new table: readers held {cfg.schema}.{ds.table} for "
        f"{time.monotonic() - started:.0f}s over {cfg.swap_attempts} attempts; the previous table stays live"
    )
