"""Measure how the dbt build time grows with the data.

For each scale: generate the synthetic IMDb files (imdb-synth), serve them over HTTP
(imdb-serve's Python API), load them with the real loader (imdb-load) into a fresh
database, run `dbt build`, and time it. Then print the build-time ratio between the
largest and the smallest scale next to the data ratio: about equal means linear.

    .venv/bin/python dbt/scripts/measure_build.py --scales 0.01 0.05

Uses a throwaway PostgreSQL 18 (the devkit harness), or DATABASE_URL if set. Needs
the main venv (imdb_loader, psycopg2) and the dbt venv (.venvs/dbt or IMDB_DBT_VENV).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions

from imdb_loader.devkit import pg, synth
from imdb_loader.devkit.server import serve

PROJECT_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PROJECT_DIR.parent
DBT = Path(os.environ.get("IMDB_DBT_VENV", REPO_ROOT / ".venvs" / "dbt")) / "bin" / "dbt"
IMDB_LOAD = Path(sys.executable).parent / "imdb-load"
LIBPQ_ENV = {"host": "PGHOST", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD"}


@dataclass
class Measurement:
    scale: float
    raw_rows: int
    recommendable_titles: int
    candidate_pairs: int
    load_seconds: float
    build_seconds: float
    node_seconds: float
    """Sum of dbt's per-node execution times: the SQL work, without dbt's start-up."""
    slowest: list[tuple[str, float]]


def libpq_env(dsn: str) -> dict[str, str]:
    parts = psycopg2.extensions.parse_dsn(dsn)
    return {env: str(parts[key]) for key, env in LIBPQ_ENV.items() if key in parts}


def scalar(dsn: str, sql: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


def run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise SystemExit(f"{Path(cmd[0]).name} failed with exit code {done.returncode}:\n{tail}")
    return elapsed


def measure(server: pg.Server, scale: float, seed: int, dbt_vars: dict[str, object], threads: int) -> Measurement:
    with tempfile.TemporaryDirectory(prefix=f"imdb-measure-{scale}-") as tmp:
        work = Path(tmp)
        synth.generate(work / "files", scale, seed=seed, jobs=os.cpu_count() or 1)
        name = f"measure_{uuid.uuid4().hex[:10]}"
        dsn = server.create_database(name)
        try:
            with serve(work / "files") as site:
                load_seconds = run(
                    [str(IMDB_LOAD), "all", "--dsn", dsn, "--base-url", site.base_url, "--parallel", "2"]
                )
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
                **libpq_env(dsn),
                "DBT_TARGET_PATH": str(work / "target"),
                "DBT_LOG_PATH": str(work / "logs"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DBT_THREADS": str(threads),
            }
            dbt_cmd = [str(DBT), "build", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
            build_seconds = run([*dbt_cmd, "--vars", json.dumps(dbt_vars)], env)
            results = json.loads((work / "target" / "run_results.json").read_text())["results"]
            timings = sorted(
                # unique_id is "<type>.imdb.<name>[.<hash>]"
                ((r["unique_id"].split(".")[2], float(r["execution_time"])) for r in results),
                key=lambda item: -item[1],
            )
            raw_rows = sum(
                scalar(dsn, f"select count(*) from imdb_raw.{table}")
                for table in ("name_basics", "title_basics", "title_akas", "title_crew", "title_episode",
                              "title_principals", "title_ratings")
            )  # fmt: skip
            return Measurement(
                scale=scale,
                raw_rows=raw_rows,
                recommendable_titles=scalar(
                    dsn, "select count(*) from imdb_intermediate.int_titles_filtered_to_recommendable"
                ),
                candidate_pairs=scalar(dsn, "select count(*) from imdb_intermediate.int_title_pairs_generated"),
                load_seconds=load_seconds,
                build_seconds=build_seconds,
                node_seconds=sum(seconds for _, seconds in timings),
                slowest=timings[:5],
            )
        finally:
            server.drop_database(name)


def report(results: list[Measurement]) -> None:
    print(
        f"{'scale':>6} {'raw rows':>11} {'recommendable':>13} {'pairs':>10} {'load s':>7} {'build s':>8} {'SQL s':>7}"
    )
    for m in results:
        print(
            f"{m.scale:>6} {m.raw_rows:>11,} {m.recommendable_titles:>13,} {m.candidate_pairs:>10,} "
            f"{m.load_seconds:>7.1f} {m.build_seconds:>8.1f} {m.node_seconds:>7.1f}"
        )
    for m in results:
        slowest = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in m.slowest)
        print(f"slowest at {m.scale}: {slowest}")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(
            f"growth {small.scale} -> {large.scale}: data x{large.raw_rows / small.raw_rows:.2f}, "
            f"candidate pairs x{large.candidate_pairs / max(small.candidate_pairs, 1):.2f}, "
            f"dbt build x{large.build_seconds / small.build_seconds:.2f}, "
            f"SQL time x{large.node_seconds / small.node_seconds:.2f} "
            "(linear: about the data ratio; dbt's fixed start-up pulls the build ratio below it)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.05])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4, help="dbt threads (DBT_THREADS)")
    parser.add_argument(
        "--min-votes",
        type=int,
        default=20,
        help="recommendation_min_votes; synthetic votes are small, so lower than the real-data default",
    )
    args = parser.parse_args(argv)
    if not DBT.exists():
        parser.error(f"dbt not found at {DBT}; run `make setup` or set IMDB_DBT_VENV")
    results = []
    with pg.server() as server:
        for scale in sorted(args.scales):
            print(f"scale {scale}: generating, loading, building ...", flush=True)
            results.append(
                measure(server, scale, args.seed, {"recommendation_min_votes": args.min_votes}, args.threads)
            )
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
