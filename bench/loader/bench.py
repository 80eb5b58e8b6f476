"""``make bench``: our loader against the INSERT baseline, pimdb and the COPY ceiling.

Setup: synthetic files at ``--scale`` (cached per scale and seed), served over HTTP on
127.0.0.1, and one PostgreSQL 18 that every contender uses with the same settings. The
contenders run interleaved, ``--repeat`` times, each in a fresh database that is dropped
(and the server CHECKPOINTed) outside the timings. Results go to ``--out``: results.json,
results.md (the README's Performance table) and chart.png.

    python bench/loader/bench.py --scale 0.02 --repeat 3
    python bench/loader/bench.py --report-only     # redraw from results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_report
import psycopg2
from bench_contenders import ALL_AT_ONCE, CONTENDERS, PER_DATASET, ContenderError, Context, Record, SourceFile

from imdb_devkit import pg, synth
from imdb_devkit.server import serve
from imdb_loader import datasets

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_ORDER = list(CONTENDERS)


SEED_ALL_ROWS_UP_TO_SCALE = 0.02
"""Up to the default scale the INSERT baseline's execute_values loads every row; beyond, a prefix."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=0.02, help="synthetic data scale (1.0 = real size; default 0.02)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--repeat", type=int, default=3, help="interleaved rounds of every contender (default 3)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks", help="where results go")
    p.add_argument(
        "--data-root",
        type=Path,
        default=Path(tempfile.gettempdir()) / "imdb-bench",
        help="cache of generated files; must be world-readable, the server reads the plain files as its own user",
    )
    p.add_argument(
        "--contenders",
        default=",".join(DEFAULT_ORDER),
        help=f"comma-separated subset of: {', '.join(DEFAULT_ORDER)}",
    )
    p.add_argument(
        "--pimdb",
        type=Path,
        default=REPO / ".venvs" / "pimdb" / "bin" / "pimdb",
        help="the pimdb command (its own venv; `make bench` creates it)",
    )
    p.add_argument(
        "--imdb-load",
        type=Path,
        default=Path(sys.executable).parent / "imdb-load",
        help="our loader's command; `make bench` passes the image-like install in .venvs/loader "
        "(default: the one next to this Python)",
    )
    p.add_argument(
        "--seed-rows-executemany",
        type=int,
        default=10_000,
        help="rows per dataset the INSERT baseline's executemany loads (a prefix; 0 = all; default 10000)",
    )
    p.add_argument(
        "--seed-rows-execute-values",
        type=int,
        default=None,
        help="rows per dataset the INSERT baseline's execute_values loads (a prefix; 0 = all; default: all up to scale "
        f"{SEED_ALL_ROWS_UP_TO_SCALE:g}, about a minute a round, else 100000)",
    )
    p.add_argument("--report-only", action="store_true", help="only redraw results.md and chart.png from results.json")
    args = p.parse_args(argv)
    unknown = set(args.contenders.split(",")) - set(CONTENDERS)
    if unknown:
        p.error(f"--contenders: unknown {', '.join(sorted(unknown))}; expected some of {', '.join(CONTENDERS)}")
    if args.seed_rows_execute_values is None:
        args.seed_rows_execute_values = 0 if args.scale <= SEED_ALL_ROWS_UP_TO_SCALE else 100_000
    if args.scale <= 0 or args.repeat < 1:
        p.error("--scale must be positive and --repeat at least 1")
    if not args.report_only and not os.access(args.imdb_load, os.X_OK):
        p.error(f"--imdb-load: {args.imdb_load} is not an executable (`make bench` installs .venvs/loader)")
    return args


def readme_for(out: Path) -> Path | None:
    """The README embeds the committed results only: a run into another folder leaves it alone."""
    return REPO / "README.md" if out.resolve() == (REPO / "docs" / "benchmarks").resolve() else None


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- setup -------------------------------------------------------------------------------------------


def prepare_data(root: Path, scale: float, seed: int) -> tuple[Path, dict[str, SourceFile]]:
    """Generate (or reuse) the seven files, gzip and plain, readable by the server's account."""
    data_dir = root / f"scale-{scale:g}-seed-{seed}"
    manifest = data_dir / "manifest.json"
    if manifest.exists():
        say(f"reusing synthetic files in {data_dir}")
    else:
        say(f"generating synthetic files at scale {scale:g} into {data_dir}")
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        generated = synth.generate(data_dir, scale, seed, clean=True, jobs=os.cpu_count() or 1, also_plain=True)
        entries = {
            name: {"rows": g.rows, "gz_bytes": g.bytes, "plain_bytes": g.plain_bytes} for name, g in generated.items()
        }
        manifest.write_text(json.dumps(entries, indent=2) + "\n")
    # The server runs as an unprivileged account and reads the plain files itself.
    for path in [root, data_dir]:
        path.chmod(0o755)
    for path in data_dir.iterdir():
        path.chmod(0o644)
    entries = json.loads(manifest.read_text())
    files = {
        name: SourceFile(
            dataset=name,
            rows=e["rows"],
            gz_path=data_dir / f"{name}.tsv.gz",
            plain_path=data_dir / f"{name}.tsv",
            gz_bytes=e["gz_bytes"],
            plain_bytes=e["plain_bytes"],
        )
        for name, e in entries.items()
    }
    return data_dir, {name: files[name] for name in datasets.NAMES}


def pimdb_status(path: Path) -> tuple[Path | None, str]:
    if not path.exists():
        return (
            None,
            f"not run: {path} does not exist (create it with `make bench`, which installs requirements/pimdb.lock)",
        )
    probe = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return None, f"not run: `pimdb --version` failed: {(probe.stderr or probe.stdout).strip()[-300:]}"
    says = (probe.stdout or probe.stderr).strip()
    # pimdb 0.3.1's --version still prints 0.3.0; the installed distribution is the truth.
    dist = subprocess.run(
        [str(path.parent / "python"), "-c", "import importlib.metadata as m; print(m.version('pimdb'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return path, f"pimdb {dist} (`pimdb --version`: {says})" if dist else says


def machine_info(pg_dsn: str) -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    conn = psycopg2.connect(pg_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            (server_version,) = cur.fetchone()
    finally:
        conn.close()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": server_version,
        "load_average_at_start": os.getloadavg(),
    }


def git_commit() -> str:
    """HEAD, and whether the loader measured differs from it."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "loader"], capture_output=True, text=True, check=False)
    commit = head.stdout.strip() or "unknown"
    return commit + (" with uncommitted loader changes" if dirty.stdout.strip() else "")


# -- the rounds --------------------------------------------------------------------------------------


def _rotated(names: list[str], by: int) -> list[str]:
    shift = by % len(names) if names else 0
    return names[shift:] + names[:shift]


def warm(sources: list[SourceFile]) -> None:
    """Read the files into the page cache, outside the timings: every contender starts with
    its input cached. Otherwise the ceiling, which reads four times more bytes (the plain
    file), can find them evicted by the gigabytes of WAL the runs before it wrote."""
    for src in sources:
        for path in (src.gz_path, src.plain_path):
            with path.open("rb") as f:
                while f.read(1 << 22):
                    pass


def run_rounds(ctx: Context, order: list[str], repeat: int) -> tuple[list[Record], dict[str, str]]:
    """``repeat`` rounds. In a round, every per-dataset contender loads a dataset before any
    moves on to the next one, so they share the machine's conditions at each dataset (a busy
    neighbour slows them all alike); the order rotates every dataset and every round. Each
    contender has its own fresh database per round. Then the all-at-once contenders."""
    records: list[Record] = []
    failures: dict[str, str] = {}
    per_dataset = [c for c in order if c in PER_DATASET]
    whole = [c for c in order if c in ALL_AT_ONCE]
    for round_no in range(repeat):
        dbs = {c: ctx.fresh_database(f"bench_{c.replace('-', '_')}_{round_no}") for c in per_dataset}
        try:
            for i, src in enumerate(ctx.files.values()):
                say(f"round {round_no + 1}/{repeat}: {src.dataset} ({src.rows:,} rows)")
                for name in _rotated(per_dataset, round_no + i):
                    if name in failures:
                        continue
                    warm([src])
                    try:
                        records.append({**PER_DATASET[name](ctx, dbs[name], src), "round": round_no})
                    except ContenderError as exc:
                        failures[name] = str(exc)
                        say(f"{name} FAILED: {exc}")
                    ctx.checkpoint()
        finally:
            for db in dbs.values():
                ctx.drop_and_checkpoint(db)
        for name in _rotated(whole, round_no):
            if name in failures:
                continue
            db = ctx.fresh_database(f"bench_{name.replace('-', '_')}_{round_no}")
            say(f"round {round_no + 1}/{repeat}: {name}")
            warm(list(ctx.files.values()))
            try:
                records += [{**r, "round": round_no} for r in ALL_AT_ONCE[name](ctx, db)]
            except ContenderError as exc:
                failures[name] = str(exc)
                say(f"{name} FAILED: {exc}")
            finally:
                ctx.drop_and_checkpoint(db)
    return records, failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results_path = args.out / "results.json"
    if args.report_only:
        bench_report.write_all(json.loads(results_path.read_text()), args.out, readme_for(args.out))
        say(f"redrew {args.out}/results.md and chart.png from {results_path}")
        return 0
    order = [c for c in DEFAULT_ORDER if c in args.contenders.split(",")]
    pimdb_path, pimdb_note = pimdb_status(args.pimdb)
    skipped: dict[str, str] = {}
    if "pimdb" in order and pimdb_path is None:
        order.remove("pimdb")
        skipped["pimdb"] = pimdb_note
    started = time.time()
    data_dir, files = prepare_data(args.data_root, args.scale, args.seed)
    # Autovacuum off: otherwise it wakes up on the tables one contender just filled (pimdb's
    # and the INSERT baseline's are neither frozen nor analyzed) and slows whichever contender runs next.
    settings = {**pg.BULK_LOAD_SETTINGS, "autovacuum": "off"}
    with pg.ThrowawayPostgres(settings=settings) as server, serve(data_dir) as http:
        ctx = Context(
            pg=server,
            files=files,
            base_url=http.base_url,
            data_dir=data_dir,
            imdb_load=args.imdb_load.absolute(),
            seed_script=HERE / "bench_seed_insert.py",
            python=Path(sys.executable),
            pimdb=pimdb_path,
            seed_limits={
                "executemany": args.seed_rows_executemany,
                "execute_values": args.seed_rows_execute_values,
            },
        )
        meta = {
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "scale": args.scale,
            "seed": args.seed,
            "repeat": args.repeat,
            "git_commit": git_commit(),
            "machine": machine_info(server.dsn),
            "postgres_settings": settings,
            "pimdb": pimdb_note,
            "imdb_load": str(args.imdb_load),
            "seed_rows_limit": ctx.seed_limits,
            "order": order,
        }
        say(f"PostgreSQL {meta['machine']['postgres']} on port {server.port}; files served at {http.base_url}")
        records, failures = run_rounds(ctx, order, args.repeat)
    meta["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    meta["seconds"] = round(time.time() - started, 1)
    meta["machine"]["load_average_at_end"] = os.getloadavg()
    results = {
        "meta": meta,
        "files": {n: {"rows": f.rows, "gz_bytes": f.gz_bytes, "plain_bytes": f.plain_bytes} for n, f in files.items()},
        "rows_at_scale_1": {ds.name: ds.rows_at_scale_1 for ds in datasets.DATASETS},
        "not_run": {**skipped, **failures},
        "records": records,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    bench_report.write_all(results, args.out, readme_for(args.out))
    print(bench_report.markdown(results))
    say(f"wrote {results_path}, results.md and chart.png in {meta['seconds']:.0f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
