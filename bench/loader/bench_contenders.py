"""The contenders, each measured the same way against the same PostgreSQL 18.

Every function returns *records*: one dict per measured unit (one dataset, or ``all`` for
the parallel runs), with wall seconds, rows, uncompressed bytes, phases and peak RSS.
Each contender run gets a database of its own; the caller drops it and CHECKPOINTs
between runs, outside the timings.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from bench_measure import Measured, run_measured, run_parallel_measured
from psycopg2 import sql

from imdb_devkit.pg import ThrowawayPostgres
from imdb_loader import datasets, ddl
from imdb_loader.config import LoadConfig
from imdb_loader.datasets import Dataset
from imdb_loader.download import gunzip

Record = dict[str, Any]
SCHEMA = "imdb_raw"


class ContenderError(RuntimeError):
    pass


@dataclass(frozen=True)
class SourceFile:
    dataset: str
    rows: int
    gz_path: Path
    plain_path: Path
    gz_bytes: int
    plain_bytes: int


@dataclass
class Context:
    """What every contender shares: the server, the files, the tools."""

    pg: ThrowawayPostgres
    files: dict[str, SourceFile]
    base_url: str
    data_dir: Path
    imdb_load: Path
    seed_script: Path
    python: Path
    pimdb: Path | None
    seed_limits: dict[str, int]

    # -- connections -----------------------------------------------------------------------------

    def dsn(self, dbname: str) -> str:
        """A URI without the password: children get it through PGPASSWORD, so it is in no argv."""
        return f"postgresql://{self.pg.user}@127.0.0.1:{self.pg.port}/{dbname}"

    def child_env(self, dbname: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "IMDB_", "DATABASE_URL"))}
        env.update(
            PGHOST="127.0.0.1",
            PGPORT=str(self.pg.port),
            PGUSER=self.pg.user,
            PGPASSWORD=self.pg.password,
            PGDATABASE=dbname,
            IMDB_DSN=self.dsn(dbname),
            IMDB_BASE_URL=self.base_url,
        )
        return env

    def admin(self, statement: str) -> None:
        conn = psycopg2.connect(self.pg.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()

    def fresh_database(self, name: str) -> str:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_and_checkpoint(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin("CHECKPOINT")

    def checkpoint(self) -> None:
        self.admin("CHECKPOINT")


def _record(contender: str, dataset: str, seconds: float, rows: int, nbytes: int, **extra: Any) -> Record:
    return {"contender": contender, "dataset": dataset, "seconds": seconds, "rows": rows, "bytes": nbytes, **extra}


def _check(ok: bool, what: str, measured: Measured | None = None) -> None:
    if not ok:
        raise ContenderError(what + (f": {measured.tail()}" if measured is not None else ""))


# -- (a) ours ------------------------------------------------------------------------------------------


def _imdb_load_cmd(ctx: Context, names: list[str], result_file: Path, *, force: bool, parallel: int = 1) -> list[str]:
    cmd = [str(ctx.imdb_load), *names, "--result-file", str(result_file), "--log-format", "json"]
    cmd += ["--parallel", str(parallel)]
    return [*cmd, "--force"] if force else cmd


def _read_results(path: Path) -> dict[str, dict[str, Any]]:
    return {d["dataset"]: d for d in json.loads(path.read_text())["datasets"]}


def _ours_record(contender: str, src: SourceFile, measured: Measured, result: dict[str, Any]) -> Record:
    _check(measured.returncode == 0 and result["status"] == "loaded", f"imdb-load {src.dataset} failed", measured)
    _check(result["rows"] == src.rows, f"imdb-load {src.dataset}: {result['rows']} rows, expected {src.rows}")
    return _record(
        contender,
        src.dataset,
        measured.seconds,
        src.rows,
        src.plain_bytes,
        phases=result["phases"],
        internal_seconds=result["seconds"],
        peak_rss_mb=measured.peak_rss_mb,
        client_cpu_seconds=measured.cpu_seconds,
    )


def ours_one(ctx: Context, db: str, src: SourceFile) -> Record:
    """One ``imdb-load <dataset> --force`` process, as one DAG task runs it."""
    with tempfile.TemporaryDirectory(prefix="imdb-bench-ours-") as tmp:
        result_file = Path(tmp) / "result.json"
        measured = run_measured(_imdb_load_cmd(ctx, [src.dataset], result_file, force=True), ctx.child_env(db))
        _check(result_file.exists(), f"imdb-load {src.dataset} wrote no result file", measured)
        return _ours_record("ours", src, measured, _read_results(result_file)[src.dataset])


def ours_parallel(ctx: Context, db: str) -> list[Record]:
    """Seven ``imdb-load`` processes at once, as the DAG runs seven pods; then the unchanged day."""
    with tempfile.TemporaryDirectory(prefix="imdb-bench-ours-") as tmp:
        names = list(ctx.files)
        cmds = [_imdb_load_cmd(ctx, [n], Path(tmp) / f"{n}.json", force=True) for n in names]
        measured = run_parallel_measured(cmds, ctx.child_env(db))
        per_ds = [
            _ours_record("ours", ctx.files[n], m, _read_results(Path(tmp) / f"{n}.json")[n])
            for n, m in zip(names, measured, strict=True)
        ]
        loaded = _record(
            "ours-parallel",
            "all",
            measured[0].seconds,
            sum(r["rows"] for r in per_ds),
            sum(r["bytes"] for r in per_ds),
            peak_rss_mb=max(m.peak_rss_mb for m in measured),
            peak_rss_mb_sum=sum(m.peak_rss_mb for m in measured),
            per_dataset={
                r["dataset"]: {"internal_seconds": r["internal_seconds"], "phases": r["phases"]} for r in per_ds
            },
        )
        ctx.checkpoint()
        refresh_file = Path(tmp) / "refresh.json"
        refresh = run_measured(
            _imdb_load_cmd(ctx, ["all"], refresh_file, force=False, parallel=len(names)), ctx.child_env(db)
        )
        _check(refresh.returncode == 0 and refresh_file.exists(), "unchanged-day imdb-load failed", refresh)
        statuses = {d: r["status"] for d, r in _read_results(refresh_file).items()}
        _check(set(statuses.values()) == {"unchanged"}, f"unchanged day: expected all unchanged, got {statuses}")
        skipped = _record(
            "ours-refresh", "all", refresh.seconds, 0, 0, peak_rss_mb=refresh.peak_rss_mb, statuses=statuses
        )
    return [loaded, skipped]


def ours_threads(ctx: Context, db: str) -> list[Record]:
    """One ``imdb-load all --parallel 7`` process: the seven loads as threads, one Python start."""
    with tempfile.TemporaryDirectory(prefix="imdb-bench-ours-") as tmp:
        result_file = Path(tmp) / "result.json"
        names = list(ctx.files)
        cmd = _imdb_load_cmd(ctx, ["all"], result_file, force=True, parallel=len(names))
        measured = run_measured(cmd, ctx.child_env(db))
        _check(result_file.exists(), "imdb-load all wrote no result file", measured)
        results = _read_results(result_file)
        per_ds = [_ours_record("ours", ctx.files[n], measured, results[n]) for n in names]
        return [
            _record(
                "ours-threads",
                "all",
                measured.seconds,
                sum(r["rows"] for r in per_ds),
                sum(r["bytes"] for r in per_ds),
                peak_rss_mb=measured.peak_rss_mb,
                client_cpu_seconds=measured.cpu_seconds,
                per_dataset={
                    r["dataset"]: {"internal_seconds": r["internal_seconds"], "phases": r["phases"]} for r in per_ds
                },
            )
        ]


# -- (b) the INSERT baseline ------------------------------------------------------------------------


def seed_one(ctx: Context, db: str, src: SourceFile, method: str) -> Record:
    """The INSERT baseline's row-by-row Python INSERTs; a prefix of the file when it is long."""
    limit = ctx.seed_limits[method]
    cmd = [str(ctx.python), str(ctx.seed_script), src.dataset, "--file", str(src.gz_path), "--method", method]
    cmd += ["--limit", str(limit)] if limit > 0 else []
    measured = run_measured(cmd, ctx.child_env(db))
    _check(measured.returncode == 0, f"seed {method} {src.dataset} failed", measured)
    out = json.loads(measured.stdout.strip().splitlines()[-1])
    expected = min(src.rows, limit) if limit > 0 else src.rows
    _check(out["rows"] == expected, f"seed {method} {src.dataset}: {out['rows']} rows, expected {expected}")
    return _record(
        f"seed-{method}",
        src.dataset,
        out["insert_seconds"] + out["keys_seconds"],
        out["rows"],
        out["bytes"] if out["prefix"] else src.plain_bytes,
        phases={"insert": out["insert_seconds"], "index": out["keys_seconds"]},
        process_seconds=measured.seconds,
        prefix=out["prefix"],
        peak_rss_mb=measured.peak_rss_mb,
        client_cpu_seconds=measured.cpu_seconds,
    )


# -- (c) pimdb --------------------------------------------------------------------------------------


def pimdb_table(name: str) -> str:
    """pimdb's table for a dataset: title.basics -> TitleBasics."""
    return "".join(part.capitalize() for part in name.split("."))


def pimdb_one(ctx: Context, db: str, src: SourceFile) -> Record:
    """``pimdb transfer <dataset>`` from the same local files, in its own process."""
    assert ctx.pimdb is not None
    url = ctx.dsn(db).replace("postgresql://", "postgresql+psycopg2://")
    cmd = [str(ctx.pimdb), "--log", "info", "transfer", "--database", url, "--dataset-folder", str(ctx.data_dir)]
    measured = run_measured([*cmd, src.dataset], ctx.child_env(db))
    _check(measured.returncode == 0, f"pimdb transfer {src.dataset} failed", measured)
    conn = psycopg2.connect(ctx.pg.dsn_for(db))
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(pimdb_table(src.dataset))))
            (rows,) = cur.fetchone()
    finally:
        conn.close()
    _check(rows == src.rows, f"pimdb {src.dataset}: {rows} rows, expected {src.rows}")
    # pimdb falls back to row-by-row INSERTs when its COPY fails; say so if it did.
    path = "insert-fallback" if "reverting to slower variant" in measured.stderr else "copy"
    return _record(
        "pimdb",
        src.dataset,
        measured.seconds,
        rows,
        src.plain_bytes,
        path=path,
        peak_rss_mb=measured.peak_rss_mb,
        client_cpu_seconds=measured.cpu_seconds,
    )


# -- (d) the ceiling --------------------------------------------------------------------------------


def server_copy_sql(ds: Dataset, target: sql.Composable, path: Path, conn: Any) -> str:
    """Our loader's exact COPY statement, reading the plain file on the server instead of STDIN."""
    ours = ddl.copy_from_stdin(ds, target, freeze=True).as_string(conn)
    assert " FROM STDIN WITH " in ours and ours.endswith(", FREEZE)"), ours
    quoted = sql.Literal(str(path)).as_string(conn)
    return ours.replace(" FROM STDIN WITH ", f" FROM {quoted} WITH ").removesuffix(")") + ", HEADER true)"


def ceiling_one(ctx: Context, db: str, src: SourceFile) -> Record:
    """Server-side COPY of the plain file into a table made in the same transaction, then the
    same keys and ANALYZE as our loader: what PostgreSQL alone needs for these rows."""
    ds = datasets.get(src.dataset)
    conn = psycopg2.connect(ctx.pg.dsn_for(db))
    phases: dict[str, float] = {}
    try:
        started = time.monotonic()
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
            mark = time.monotonic()
            # The copy phase creates the table, as our loader's does: FREEZE needs it in this transaction.
            cur.execute(ddl.create_table(ds, SCHEMA, ds.table))
            cur.execute(server_copy_sql(ds, ddl.qualified(SCHEMA, ds.table), src.plain_path, conn))
            rows = cur.rowcount
            phases["copy"], mark = time.monotonic() - mark, time.monotonic()
            cur.execute("SET LOCAL maintenance_work_mem = %s", (LoadConfig().maintenance_work_mem,))
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                    ddl.qualified(SCHEMA, ds.table), ddl.key_columns(ds)
                )
            )
            for columns in ds.indexes:
                cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
                cur.execute(sql.SQL("CREATE INDEX ON {} ({})").format(ddl.qualified(SCHEMA, ds.table), cols))
            phases["index"], mark = time.monotonic() - mark, time.monotonic()
            cur.execute(sql.SQL("ANALYZE {}").format(ddl.qualified(SCHEMA, ds.table)))
            phases["analyze"], mark = time.monotonic() - mark, time.monotonic()
        conn.commit()
        phases["commit"] = time.monotonic() - mark
        seconds = time.monotonic() - started
    finally:
        conn.close()
    _check(rows == src.rows, f"ceiling {src.dataset}: COPY loaded {rows} rows, expected {src.rows}")
    return _record("ceiling", src.dataset, seconds, rows, src.plain_bytes, phases=phases)


def ceiling_parallel(ctx: Context, db: str) -> list[Record]:
    """The seven server-side COPYs at once, each on its own connection (and backend)."""
    with psycopg2.connect(ctx.pg.dsn_for(db)) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
    conn.close()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(ctx.files)) as pool:
        per_ds = list(pool.map(lambda src: ceiling_one(ctx, db, src), ctx.files.values()))
    seconds = time.monotonic() - started
    return [
        _record(
            "ceiling-parallel",
            "all",
            seconds,
            sum(r["rows"] for r in per_ds),
            sum(r["bytes"] for r in per_ds),
            per_dataset={r["dataset"]: {"seconds": r["seconds"], "phases": r["phases"]} for r in per_ds},
        )
    ]


def decompress_one(_ctx: Context, _db: str, src: SourceFile) -> Record:
    """gunzip alone (the loader's own gunzip), in this process: the other half of the ceiling."""
    started = time.monotonic()
    out = 0
    with src.gz_path.open("rb") as f:
        for piece in gunzip(iter(lambda: f.read(1 << 20), b""), str(src.gz_path)):
            out += len(piece)
    seconds = time.monotonic() - started
    _check(out == src.plain_bytes, f"decompress {src.dataset}: {out} bytes, expected {src.plain_bytes}")
    return _record("decompress", src.dataset, seconds, src.rows, out)


OneDataset = Callable[[Context, str, SourceFile], Record]
AllDatasets = Callable[[Context, str], list[Record]]

PER_DATASET: dict[str, OneDataset] = {
    "ours": ours_one,
    "ceiling": ceiling_one,
    "decompress": decompress_one,
    "pimdb": pimdb_one,
    "seed-execute_values": lambda ctx, db, src: seed_one(ctx, db, src, "execute_values"),
    "seed-executemany": lambda ctx, db, src: seed_one(ctx, db, src, "executemany"),
}
"""Contenders measured dataset by dataset; the rounds interleave them at each dataset."""

ALL_AT_ONCE: dict[str, AllDatasets] = {
    "ours-parallel": ours_parallel,
    "ours-threads": ours_threads,
    "ceiling-parallel": ceiling_parallel,
}
"""Contenders measured on all seven datasets at once. ``ours-parallel`` also yields the
unchanged day (``ours-refresh``): the same seven files asked about again, all skipped."""

CONTENDERS = (*PER_DATASET, *ALL_AT_ONCE)
