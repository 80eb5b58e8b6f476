"""What change capture costs next to the load itself: day 0 loaded, then day N, per dataset.

    python bench/loader/bench_changes.py --scale 0.02
    python bench/loader/bench_changes.py --scale 0.2 --repeat 2 --alternatives

Each round has a fresh database. Every dataset is loaded from day 0's file (a first load: it
records ``changes_full`` and compares nothing), then day N's file is published over it and
the dataset is loaded again, one ``imdb-load <dataset>`` process at a time as a DAG task runs
it. That second run's ``--result-file`` gives the load's own seconds (check, copy, index,
analyze, swap) and the capture's (``changes``), with the counts; the target is capture at most
``TARGET_RATIO`` times the load.

``--alternatives`` then compares mechanisms: in one database with day 0 live and day N loaded
into a second schema, each candidate runs the capture statement under EXPLAIN (ANALYZE, BUFFERS)
in a transaction that moves day N's table next to the live one and is rolled back.

Files are generated once per (scale, seed, day) under ``--data-root``; the server has the
benchmark's settings (``bench.py``: the harness's bulk-load settings, durable, autovacuum off).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from imdb_devkit import pg, synth
from imdb_devkit.server import serve
from imdb_loader import changes, datasets
from imdb_loader.datasets import Dataset
from imdb_loader.defaults import DEFAULT_SCHEMA

REPO = Path(__file__).resolve().parent.parent.parent
TARGET_RATIO = 0.3
"""Capture seconds per second of the load's own phases, at most: the change capture's budget
at scale 0.2 (docs/benchmarks/README.md, Change capture)."""
LOAD_PHASES = ("check", "copy", "index", "analyze", "swap")
NEXT_SCHEMA = "imdb_next"
ALTERNATIVE_FRESH = "_bench_changes_fresh"


LOADERS_SETTINGS = tuple(f"SET LOCAL {name} = {value}" for name, value in changes.PLANNER_SETTINGS.items())
ALTERNATIVES: dict[str, tuple[tuple[str, ...], sql.Composable | None]] = {
    # name: (planner settings, how two rows are compared; None = the loader's own)
    "merge join, IS DISTINCT FROM per column (the loader's)": (LOADERS_SETTINGS, None),
    "planner's choice, IS DISTINCT FROM per column": ((), None),
    "hash join, IS DISTINCT FROM per column": (("SET LOCAL enable_mergejoin = off",), None),
    "merge join, row::text": (("SET LOCAL enable_hashjoin = off",), sql.SQL("o::text <> n::text")),
    "merge join, md5(row::text)": (("SET LOCAL enable_hashjoin = off",), sql.SQL("md5(o::text) <> md5(n::text)")),
    "merge join, hashtextextended(row::text, 0)": (
        ("SET LOCAL enable_hashjoin = off",),
        sql.SQL("hashtextextended(o::text, 0) <> hashtextextended(n::text, 0)"),
    ),
}
FIRST_ALTERNATIVE = next(iter(ALTERNATIVES))


def say(message: str) -> None:
    print(f"[bench-changes {time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=0.02, help="synthetic data scale (default 0.02)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--day", type=int, default=1, help="the day loaded over day 0 (default 1: one day of churn)")
    p.add_argument(
        "--repeat", type=int, default=1, help="rounds, each in a fresh database (default 1; 0: only --alternatives)"
    )
    p.add_argument("--alternatives", action="store_true", help="also compare capture mechanisms with EXPLAIN")
    p.add_argument("--explain-repeat", type=int, default=3, help="EXPLAIN runs per mechanism (default 3)")
    p.add_argument("--dataset", action="append", default=None, help="only this dataset (repeatable; default all)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="generator processes (default: CPUs)")
    p.add_argument("--out", type=Path, default=REPO / "build" / "bench-changes", help="results.json and results.md")
    p.add_argument(
        "--data-root", type=Path, default=Path(tempfile.gettempdir()) / "imdb-bench-changes", help="generated files"
    )
    p.add_argument(
        "--imdb-load",
        type=Path,
        default=Path(sys.executable).parent / "imdb-load",
        help="our loader's command (default: the one next to this Python)",
    )
    args = p.parse_args(argv)
    if args.scale <= 0 or args.repeat < 0 or args.day < 1 or args.explain_repeat < 1:
        p.error("--scale must be positive, --repeat at least 0, --day and --explain-repeat at least 1")
    if args.repeat == 0 and not args.alternatives:
        p.error("--repeat 0 measures nothing without --alternatives")
    return args


def generate(root: Path, scale: float, seed: int, day: int, jobs: int) -> Path:
    folder = root / f"scale-{scale:g}-seed-{seed}" / f"day-{day}"
    done = folder / "done.json"
    if done.exists():
        say(f"reusing day {day} in {folder}")
        return folder
    say(f"generating day {day} at scale {scale:g} into {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    written = synth.generate(folder, scale, seed, clean=True, jobs=jobs, day=day)
    done.write_text(json.dumps({name: g.rows for name, g in written.items()}, indent=1) + "\n")
    return folder


def warm(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(1 << 22):
            pass


@contextmanager
def connection(dsn: str) -> Iterator[Any]:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def admin(server: pg.ThrowawayPostgres, statement: str) -> None:
    with connection(server.dsn) as conn, conn.cursor() as cur:
        cur.execute(statement)


class Loads:
    """Runs ``imdb-load`` as its own process against one server and one served folder."""

    def __init__(self, imdb_load: Path, server: pg.ThrowawayPostgres, base_url: str, scratch: Path) -> None:
        self.imdb_load, self.server, self.base_url, self.scratch = imdb_load, server, base_url, scratch

    def run(self, db: str, names: list[str], *extra: str) -> list[dict[str, Any]]:
        result_file = self.scratch / "result.json"
        result_file.unlink(missing_ok=True)
        cmd = [str(self.imdb_load), *names, "--dsn", self.server.dsn_for(db), "--base-url", self.base_url]
        cmd += ["--result-file", str(result_file), *extra]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if done.returncode != 0 or not result_file.exists():
            raise SystemExit(f"imdb-load {' '.join(names)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        results: list[dict[str, Any]] = json.loads(result_file.read_text())["datasets"]
        return results


def publish(site: Path, folder: Path, ds: Dataset) -> None:
    # A copy, not a rename: the cache keeps its file, the served one gets a new mtime (a new ETag).
    shutil.copyfile(folder / ds.file_name, site / ds.file_name)
    warm(site / ds.file_name)


def one_round(
    loads: Loads, site: Path, days: tuple[Path, Path], wanted: list[Dataset], db: str
) -> list[dict[str, Any]]:
    admin(loads.server, f'CREATE DATABASE "{db}"')
    records = []
    try:
        for ds in wanted:
            publish(site, days[0], ds)
            [first] = loads.run(db, [ds.name])
            admin(loads.server, "CHECKPOINT")
            publish(site, days[1], ds)
            [second] = loads.run(db, [ds.name])
            admin(loads.server, "CHECKPOINT")
            phases = second["phases"]
            load_s = sum(phases.get(p, 0.0) for p in LOAD_PHASES)
            capture_s = phases.get("changes", 0.0)
            records.append(
                {
                    "dataset": ds.name,
                    "rows": second["rows"],
                    "load_seconds": round(load_s, 3),
                    "capture_seconds": capture_s,
                    "ratio": round(capture_s / max(load_s, 1e-9), 3),
                    "changes": second["changes"],
                    "first_load_changes": first["changes"],
                    "phases": phases,
                }
            )
            c = second["changes"]
            say(
                f"  {ds.name}: load {load_s:.2f}s, capture {capture_s:.2f}s ({capture_s / max(load_s, 1e-9):.2f}x); "
                f"{c['added']} added, {c['changed']} changed, {c['removed']} removed"
            )
    finally:
        admin(loads.server, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return records


def explain(cur: Any, ds: Dataset, settings: tuple[str, ...], differs: sql.Composable | None) -> dict[str, Any]:
    """One capture statement under EXPLAIN ANALYZE, day N's table standing in for the fresh one."""
    raw = DEFAULT_SCHEMA
    cur.execute("BEGIN")
    try:
        cur.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass",
            (f"{NEXT_SCHEMA}.{ds.table}",),
        )
        for n, (index,) in enumerate(cur.fetchall()):  # index names are unique per schema
            cur.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    sql.SQL(index), sql.Identifier(f"{ALTERNATIVE_FRESH}_{n}")
                )
            )
        cur.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(NEXT_SCHEMA, ds.table), sql.Identifier(ALTERNATIVE_FRESH)
            )
        )
        cur.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(NEXT_SCHEMA, ALTERNATIVE_FRESH), sql.Identifier(raw)
            )
        )
        for statement in settings:
            cur.execute(statement)
        statement = changes.capture_sql(ds, raw, ALTERNATIVE_FRESH, differs)
        cur.execute(
            sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ") + statement,
            {"run_id": "bench-changes", "dataset": ds.name},
        )
        plan: dict[str, Any] = cur.fetchone()[0][0]
    finally:
        cur.execute("ROLLBACK")
    return plan


def plan_summary(plan: dict[str, Any]) -> dict[str, Any]:
    top = plan["Plan"]
    nodes, join, memory_kb = [top], "?", 0
    while nodes:
        node = nodes.pop()
        if "Join" in node["Node Type"] and join == "?":
            join = node["Node Type"]
        memory_kb = max(memory_kb, int(node.get("Peak Memory Usage", 0)))
        nodes.extend(node.get("Plans", []))
    return {
        "ms": round(float(plan["Execution Time"]), 1),
        "join": join,
        "shared_hit": top.get("Shared Hit Blocks", 0),
        "shared_read": top.get("Shared Read Blocks", 0),
        "temp_written": top.get("Temp Written Blocks", 0),
        "peak_memory_kb": memory_kb,
    }


def alternatives(loads: Loads, site: Path, days: tuple[Path, Path], wanted: list[Dataset], repeat: int) -> list[Any]:
    db = "bench_changes_alternatives"
    admin(loads.server, f'CREATE DATABASE "{db}"')
    out: list[dict[str, Any]] = []
    try:
        for folder, schema in ((days[0], None), (days[1], NEXT_SCHEMA)):
            for ds in wanted:
                publish(site, folder, ds)
            loads.run(db, [ds.name for ds in wanted], *(["--schema", schema] if schema else []))
        admin(loads.server, "CHECKPOINT")
        with connection(loads.server.dsn_for(db)) as conn, conn.cursor() as cur:
            for ds in wanted:
                explain(cur, ds, *ALTERNATIVES[FIRST_ALTERNATIVE])  # warm-up: whoever runs first reads the tables in
                for name, (settings, differs) in ALTERNATIVES.items():
                    runs = [plan_summary(explain(cur, ds, settings, differs)) for _ in range(repeat)]
                    best = min(runs, key=lambda r: float(r["ms"]))
                    median = statistics.median(float(r["ms"]) for r in runs)
                    out.append({"dataset": ds.name, "mechanism": name, "median_ms": median, **best})
                    say(f"  {ds.name}: {name}: {median:.0f} ms ({best['join']}, temp {best['temp_written']} blocks)")
    finally:
        admin(loads.server, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return out


def markdown(meta: dict[str, Any], records: list[dict[str, Any]], alts: list[dict[str, Any]]) -> str:
    lines = [
        f"# Change capture at scale {meta['scale']:g}: day {meta['day']} loaded over day 0",
        "",
        f"{meta['repeat']} round(s), medians; {meta['cpus']} CPUs, load average {meta['load_average']} at the start. "
        "Load = check + copy + index + analyze + swap of the day's run; capture = its `changes` phase "
        f"(target: at most {TARGET_RATIO}x the load).",
        "",
        "| dataset | rows | load s | capture s | capture / load | added | changed | removed |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    if not records:
        lines = lines[:2]
    total_load = total_capture = 0.0
    for name in dict.fromkeys(r["dataset"] for r in records):
        mine = [r for r in records if r["dataset"] == name]
        load_s = statistics.median(r["load_seconds"] for r in mine)
        capture_s = statistics.median(r["capture_seconds"] for r in mine)
        total_load, total_capture = total_load + load_s, total_capture + capture_s
        c = mine[0]["changes"]
        lines.append(
            f"| {name} | {mine[0]['rows']:,} | {load_s:.2f} | {capture_s:.2f} | {capture_s / max(load_s, 1e-9):.2f} | "
            f"{c['added']:,} | {c['changed']:,} | {c['removed']:,} |"
        )
    if records:
        ratio = total_capture / max(total_load, 1e-9)
        verdict = "within" if ratio <= TARGET_RATIO else "OVER"
        lines.append(
            f"| **all** | | **{total_load:.2f}** | **{total_capture:.2f}** | **{ratio:.2f}** ({verdict}) | | | |"
        )
    if alts:
        lines += [
            "",
            "## Mechanisms (EXPLAIN ANALYZE of the capture statement, rolled back)",
            "",
            "| dataset | mechanism | median ms | min ms | join | shared hit / read | temp written | peak memory kB |",
            "|---|---|--:|--:|---|--:|--:|--:|",
        ]
        lines += [
            f"| {a['dataset']} | {a['mechanism']} | {a['median_ms']:.0f} | {a['ms']:.0f} | {a['join']} | "
            f"{a['shared_hit']} / {a['shared_read']} | {a['temp_written']} | {a['peak_memory_kb']} |"
            for a in alts
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = datasets.resolve(args.dataset or ["all"])
    days = (
        generate(args.data_root, args.scale, args.seed, 0, args.jobs),
        generate(args.data_root, args.scale, args.seed, args.day, args.jobs),
    )
    settings = {**pg.BULK_LOAD_SETTINGS, "autovacuum": "off"}  # as bench.py: durable, no autovacuum
    meta: dict[str, Any] = {
        "scale": args.scale,
        "seed": args.seed,
        "day": args.day,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "postgres_settings": settings,
    }
    with (
        tempfile.TemporaryDirectory(prefix="imdb-bench-changes-") as scratch,
        pg.ThrowawayPostgres(settings=settings) as server,
    ):
        site = Path(scratch) / "site"
        site.mkdir()
        with serve(site) as http:
            loads = Loads(args.imdb_load.absolute(), server, http.base_url, Path(scratch))
            records: list[dict[str, Any]] = []
            for n in range(args.repeat):
                say(f"round {n + 1}/{args.repeat}")
                records += one_round(loads, site, days, wanted, f"bench_changes_{n}")
            alts = alternatives(loads, site, days, wanted, args.explain_repeat) if args.alternatives else []
    report = markdown(meta, records, alts)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(
        json.dumps({"meta": meta, "records": records, "alternatives": alts}, indent=1) + "\n"
    )
    (args.out / "results.md").write_text(report)
    print(report)
    say(f"wrote {args.out}/results.json and results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
