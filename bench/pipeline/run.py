"""The whole pipeline at a given scale, measured end to end: `make bench-pipeline SCALE=…`.

1. Generate the synthetic IMDb files (imdb-synth; cached under --work, untimed) and serve them
   over HTTP (imdb-serve's Python API).
2. The seven loads as the DAG runs them: one `imdb-load <dataset>` process per dataset, with
   the DAG's own arguments, at most as many at once as the DAG's pool has slots.
3. `dbt build` (every model, data test and unit test), then `dbt source freshness`, with the
   DAG's flags.

All the while a sampler records the database's size, the data directory's size (WAL and
temporary files included) and the server's memory about once a second. PostgreSQL runs with
the chart's warehouse parameters (charts/imdb-pipeline/values.yaml) in a database with the
chart's locale, so what is measured here is what the chart deploys. The run is appended to
docs/benchmarks/pipeline/results.json (one run per scale) and the report, the chart and the
README summary are redrawn from it (report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(REPO / "dags"), str(REPO / "dbt" / "scripts")]

import report  # noqa: E402
import show_recommendations  # noqa: E402
from imdb_pipeline import config as dag_config  # noqa: E402
from imdb_pipeline import jobs  # noqa: E402
from phases import Phase  # noqa: E402
from probes import Sampler  # noqa: E402

from imdb_devkit import pg, synth  # noqa: E402
from imdb_devkit.server import serve  # noqa: E402
from imdb_loader.libpq import pg_env  # noqa: E402

VALUES = REPO / "charts" / "imdb-pipeline" / "values.yaml"
DEFAULT_OUT = REPO / "docs" / "benchmarks" / "pipeline"
DBT_PROJECT = REPO / "dbt"
# The embedded PostgreSQL build has no zstd; pglz is the nearest it has.
HARNESS_OVERRIDES = {"wal_compression": "on"}
# Synthetic titles have few votes; the tests and the demo use the same threshold.
MIN_VOTES = 20
EXIT_LOW_DISK = 9
LOCALE_PROVIDERS = {"b": "builtin", "c": "libc", "i": "icu"}


class RunError(RuntimeError):
    """A step failed; the message says which and why."""


@dataclass
class Process:
    name: str
    started: float
    seconds: float
    returncode: int
    peak_rss_mb: float
    log_tail: str


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def chart_parameters() -> dict[str, str]:
    """The warehouse's PostgreSQL parameters as the chart sets them, with the harness's overrides."""
    values = yaml.safe_load(VALUES.read_text())
    return {**{k: str(v) for k, v in values["warehouse"]["parameters"].items()}, **HARNESS_OVERRIDES}


def chart_volume() -> str:
    return str(yaml.safe_load(VALUES.read_text())["warehouse"]["storage"]["size"])


def prepare_files(work: Path, scale: float, seed: int, *, clean: bool = False) -> Path:
    """The synthetic files for (scale, seed), generated once and kept for the next run. ``clean``
    files have no duplicate keys and no dangling references (``imdb-synth --clean``)."""
    files = work / f"files-{scale}-seed{seed}{'-clean' if clean else ''}"
    marker = files / "generated.json"
    if marker.exists():
        return files
    say(f"generating scale {scale}{' without defects' if clean else ''} (untimed)")
    synth.generate(files, scale, seed=seed, jobs=os.cpu_count() or 1, clean=clean)
    marker.write_text(json.dumps({"scale": scale, "seed": seed, "clean": clean}) + "\n")
    return files


def _tail(path: Path, lines: int = 8) -> str:
    return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, float] | None:
    """(return code, peak RSS MB) of a child that has ended, else None; never blocks."""
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024.0


def run_pool(
    commands: list[tuple[str, list[str]]], env: dict[str, str], slots: int, logs: Path, abort: Sampler | None = None
) -> list[Process]:
    """Run the commands, at most ``slots`` at once, in order; each measured on its own. When the
    sampler finds the disk nearly full, every running command is stopped and RunError raised."""
    pending, done = list(commands), []
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    t0 = time.monotonic()
    while pending or running:
        while pending and len(running) < slots:
            name, cmd = pending.pop(0)
            log = (logs / f"{name}.log").open("wb")
            running[name] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), time.monotonic())
            log.close()
        for name, (proc, started) in list(running.items()):
            reaped = _reap(proc)
            if reaped is not None:
                code, rss = reaped
                seconds = time.monotonic() - started
                done.append(Process(name, started - t0, seconds, code, rss, _tail(logs / f"{name}.log", 2)))
                del running[name]
        if abort is not None and abort.low_on_disk:
            for proc, _ in running.values():
                proc.terminate()
                proc.wait(timeout=60)
            raise RunError("less than 8 GB free on the data directory's disk: stopped")
        time.sleep(0.05)
    return done


def run_one(name: str, cmd: list[str], env: dict[str, str], logs: Path, abort: Sampler | None = None) -> Process:
    return run_pool([(name, cmd)], env, 1, logs, abort)[0]


def load_commands(imdb_load: str, results: Path) -> list[tuple[str, list[str]]]:
    """The DAG's load jobs, biggest first: Airflow starts equal-priority tasks in no set order, and
    biggest-first gives the shortest wall time, so dbt's ratio to the loads is judged strictly."""
    ordered = sorted(jobs.LOAD_JOBS, key=lambda job: -job.dataset.rows_at_scale_1)
    return [(job.task_id, [imdb_load, *job.arguments(str(results / f"{job.task_id}.json"))]) for job in ordered]


def query(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params or None)
        return list(cur.fetchall())


RELATIONS = """
    select n.nspname, c.relname, c.relkind::text, greatest(c.reltuples, 0)::bigint,
        pg_table_size(c.oid), pg_indexes_size(c.oid), c.relpersistence::text
    from pg_class as c
    join pg_namespace as n on n.oid = c.relnamespace
    where n.nspname in ('imdb_raw', 'imdb_staging', 'imdb_intermediate', 'imdb_marts')
        and c.relkind in ('r', 'v', 'm')
    order by 1, 2
"""


def relations(dsn: str) -> list[dict[str, Any]]:
    rows = query(dsn, RELATIONS)
    keys = ("schema", "name", "kind", "rows", "table_bytes", "index_bytes", "persistence")
    out = [dict(zip(keys, row, strict=True)) for row in rows]
    for rel in out:  # exact counts for the raw tables: the ratios are judged on them
        if rel["schema"] == "imdb_raw" and rel["kind"] == "r":
            rel["rows"] = query(dsn, f'select count(*) from imdb_raw."{rel["name"]}"')[0][0]
    return out


def dbt_nodes(target: Path) -> list[dict[str, Any]]:
    """Per node, from dbt's own run_results.json."""
    nodes = []
    for r in json.loads((target / "run_results.json").read_text())["results"]:
        kind, _, name = r["unique_id"].split(".")[:3]
        response = r.get("adapter_response") or {}
        nodes.append(
            {
                "unique_id": r["unique_id"],
                "kind": kind,
                "name": name,
                "status": r["status"],
                "seconds": round(float(r["execution_time"]), 3),
                "rows": response.get("rows_affected"),
                "thread": r.get("thread_id"),
                "started": next((t["started_at"] for t in r.get("timing", []) if t["name"] == "execute"), None),
            }
        )
    return nodes


def spot_checks(dsn: str, titles: int = 4, top: int = 5) -> list[dict[str, Any]]:
    """The most voted recommended titles and their top recommendations, as the demo shows them."""
    checks = []
    for (title_id,) in query(dsn, show_recommendations.POPULAR_TITLES, (titles,)):
        _, name, title_type, year, weighted, votes = query(dsn, show_recommendations.TITLE, (title_id,))[0]
        recs = query(dsn, show_recommendations.RECOMMENDATIONS, (title_id, top))
        checks.append(
            {
                "title_id": title_id,
                "title": show_recommendations.describe(name, title_type, year),
                "num_votes": votes,
                "weighted_rating": float(weighted) if weighted is not None else None,
                "top": [
                    {
                        "rank": rank,
                        "title_id": other,
                        "title": show_recommendations.describe(o_name, o_type, o_year),
                        "score": float(score),
                        "reason": reason,
                    }
                    for rank, other, o_name, o_type, o_year, score, reason in recs
                ],
            }
        )
    return checks


DATABASE_LOCALE = """
    select datlocprovider::text, coalesce(datlocale, datcollate)
    from pg_database
    where datname = current_database()
"""


def machine(dsn: str) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "unknown",
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    settings = query(
        dsn,
        "select name, setting, coalesce(unit, '') from pg_settings "
        "where source not in ('default', 'override', 'client') and name not like 'lc\\_%' order by name",
    )
    provider, locale = query(dsn, DATABASE_LOCALE)[0]
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "postgres": query(dsn, "show server_version")[0][0],
        "postgres_settings": {name: setting + unit for name, setting, unit in settings},
        "locale": f"{LOCALE_PROVIDERS.get(provider, provider)} {locale}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_commit() -> str:
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "dbt", "bench", "charts"], capture_output=True, text=True, check=False
    )
    return (head.stdout.strip() or "unknown") + (" with uncommitted changes" if dirty.stdout.strip() else "")


def create_warehouse(server: pg.Server, name: str) -> str:
    """A database with the chart's locale: the builtin provider's C.UTF-8 (byte-order sorts)."""
    conn = psycopg2.connect(server.dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                f'create database "{name}" template template0 encoding UTF8 '
                "locale_provider builtin builtin_locale 'C.UTF-8' locale 'C.UTF-8'"
            )
    finally:
        conn.close()
    return server.dsn_for(name)


@dataclass
class Tools:
    imdb_load: str
    dbt: str
    threads: int
    keep_files: bool


def _check(step: Process, what: str) -> None:
    if step.returncode != 0:
        raise RunError(f"{what} failed with exit code {step.returncode}: {step.log_tail}")


def measure(server: pg.ThrowawayPostgres, files: Path, work: Path, tools: Tools) -> dict[str, Any]:
    name = "imdb"
    dsn = create_warehouse(pg.Server(dsn=server.dsn, owned=server), name)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    assert server.root is not None
    sampler = Sampler(dsn=dsn, data_dir=server.root / "data", postmaster=server.pid)
    # The loader is the installed --imdb-load (make bench-pipeline installs it as the image does).
    record: dict[str, Any] = {"machine": machine(dsn), "commit": git_commit(), "imdb_load": tools.imdb_load}
    slots = int(dag_config.DEFAULTS["IMDB_LOADS_POOL_SLOTS"])
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "IMDB_", "DBT_"))}
    sampler.start()
    try:
        with serve(files) as site:
            env = {**base_env, "IMDB_DSN": dsn, "IMDB_BASE_URL": site.base_url}
            say(f"loading seven datasets, {slots} at once (the DAG's pool)")
            started = time.monotonic()
            loads = run_pool(load_commands(tools.imdb_load, work / "load-results"), env, slots, logs, sampler)
            loads_seconds = time.monotonic() - started
        if not tools.keep_files:  # served and loaded: their disk is the warehouse's now
            shutil.rmtree(files, ignore_errors=True)
        for step in loads:
            _check(step, step.name)
        dbt_env = {
            **base_env,
            **pg_env(dsn),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "dbt-logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_THREADS": str(tools.threads),
        }
        flags = jobs.dbt_arguments(str(DBT_PROJECT))
        dbt_vars = ["--vars", json.dumps({"recommendation_min_votes": MIN_VOTES})]
        sampler.phase = Phase.DBT_BUILD
        say("dbt build")
        build = run_one("dbt-build", [tools.dbt, "build", *flags, *dbt_vars], dbt_env, logs, sampler)
        _check(build, "dbt build")
        sampler.phase = Phase.FRESHNESS
        say("dbt source freshness")
        freshness = run_one("dbt-freshness", [tools.dbt, "source", "freshness", *flags], dbt_env, logs, sampler)
        _check(freshness, "dbt source freshness")
    finally:
        sampler.stop()
    record["phases"] = [
        {"phase": Phase.LOADS, "seconds": round(loads_seconds, 3), "peak_rss_mb": max(p.peak_rss_mb for p in loads)},
        {"phase": Phase.DBT_BUILD, "seconds": round(build.seconds, 3), "peak_rss_mb": build.peak_rss_mb},
        {"phase": Phase.FRESHNESS, "seconds": round(freshness.seconds, 3), "peak_rss_mb": freshness.peak_rss_mb},
    ]
    record["loads"] = [
        {
            **{k: v for k, v in asdict(p).items() if k != "log_tail"},
            "result": json.loads((work / "load-results" / f"{p.name}.json").read_text())["datasets"][0],
        }
        for p in loads
    ]
    record["dbt_nodes"] = dbt_nodes(work / "target")
    record["relations"] = relations(dsn)
    record["database_bytes_end"] = query(dsn, "select pg_database_size(current_database())")[0][0]
    record["samples"] = [asdict(s) for s in sampler.samples]
    record["spot_checks"] = spot_checks(dsn)
    record["chart_volume"] = chart_volume()
    return record


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the README summary follows this folder only")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench-pipeline")
    parser.add_argument("--imdb-load", default=str(Path(sys.executable).parent / "imdb-load"))
    parser.add_argument("--dbt", default=str(REPO / ".venvs" / "dbt" / "bin" / "dbt"))
    parser.add_argument("--threads", type=int, default=4, help="dbt threads (the profile's default)")
    parser.add_argument("--keep-files", action="store_true", help="keep the generated files for the next run")
    parser.add_argument(
        "--clean",
        action="store_true",
        help="files without the dev kit's defects (duplicate keys, dangling references), as IMDb's own "
        "files are: the loads then skip the duplicate-key path",
    )
    parser.add_argument("--report-only", action="store_true", help="redraw the report from results.json")
    return parser.parse_args(argv)


def store(out: Path, scale: float, record: dict[str, Any]) -> Path:
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    results["runs"][str(scale)] = record
    results["runs"] = dict(sorted(results["runs"].items(), key=lambda kv: float(kv[0])))
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.report_only:
        files = prepare_files(args.work, args.scale, args.seed, clean=args.clean)
        work = args.work / f"run-{args.scale}"
        settings = chart_parameters()
        say(f"PostgreSQL with the chart's parameters: {settings}")
        try:
            with pg.ThrowawayPostgres(settings=settings) as server:
                record = measure(server, files, work, Tools(args.imdb_load, args.dbt, args.threads, args.keep_files))
        except RunError as exc:
            print(f"bench-pipeline: {exc}", file=sys.stderr)
            return EXIT_LOW_DISK if "GB free" in str(exc) else 1
        finally:
            if not args.keep_files:
                shutil.rmtree(files, ignore_errors=True)
        slots = int(dag_config.DEFAULTS["IMDB_LOADS_POOL_SLOTS"])
        record |= {
            "scale": args.scale,
            "seed": args.seed,
            "clean_files": args.clean,
            "dbt_threads": args.threads,
            "pool_slots": slots,
        }
        say(f"stored in {store(args.out, args.scale, record)}")
    # Runs written elsewhere (make measure-dbt, trials) leave the README's summary alone.
    report.write_all(args.out, REPO / "README.md" if args.out.resolve() == DEFAULT_OUT.resolve() else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
