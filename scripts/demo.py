"""`make demo`: the whole pipeline on this machine, offline, in about a minute.

1. Generate synthetic IMDb files (our generator) and serve them on 127.0.0.1.
2. Start a throwaway PostgreSQL 18 (or use DATABASE_URL / IMDB_DSN).
3. Load all seven datasets in parallel with `imdb-load`, as the cluster's pods would.
4. Run it again: every dataset is skipped as unchanged.
5. Build the dbt models and print recommendations for three popular titles.

IMDB_BASE_URL=https://datasets.imdbws.com/ points step 3 at the real IMDb instead
(about 7 GB of downloads and 200 M rows: bring time and disk).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imdb_devkit import pg, synth
from imdb_devkit.server import serve
from imdb_loader.libpq import pg_env

# As Airflow itself does: the DAGs' support package on sys.path (where dbt is found).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dags"))
from imdb_pipeline.local_tools import dbt_command

REPO = Path(__file__).resolve().parent.parent


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def run_loader(dsn: str, base_url: str, result_file: Path) -> dict[str, object]:
    beside = Path(sys.executable).parent / "imdb-load"
    cmd = [
        str(beside) if beside.exists() else "imdb-load",
        "all",
        "--parallel",
        "7",
        "--dsn",
        dsn,
        "--base-url",
        base_url,
        "--result-file",
        str(result_file),
    ]
    shown = " ".join(["imdb-load", *(c if c != dsn else "<dsn>" for c in cmd[1:])])
    print(f"$ {shown}", flush=True)
    code = subprocess.run(cmd, check=False).returncode
    if code != 0:
        sys.exit(f"demo: imdb-load failed with exit code {code}")
    result: dict[str, object] = json.loads(result_file.read_text())
    return result


def print_table(result: dict[str, object]) -> None:
    rows = result["datasets"]
    assert isinstance(rows, list)
    print(f"\n{'dataset':<18}{'status':<11}{'rows':>12}{'rejects':>9}{'seconds':>9}{'rows/s':>12}")
    total_rows = 0
    for r in rows:
        rate = r["rows"] / r["seconds"] if r["rows"] and r["seconds"] else 0
        total_rows += r["rows"]
        print(
            f"{r['dataset']:<18}{r['status']:<11}{r['rows']:>12,}{r['rejected']:>9,}{r['seconds']:>9.2f}{rate:>12,.0f}"
        )
    print(f"{'total':<18}{'':<11}{total_rows:>12,}")


def dbt_steps(dsn: str) -> None:
    dbt = Path(dbt_command())
    show = REPO / "dbt" / "scripts" / "show_recommendations.py"
    if not dbt.exists() or not show.exists():
        print("(dbt is not set up here: run `make setup` to add the models step)")
        return
    env = {**os.environ, **pg_env(dsn), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    banner("dbt build: staging -> intermediate -> marts, with tests")
    # Synthetic titles have fewer votes than real ones: lower the recommendation floor.
    cmd = [
        str(dbt),
        "build",
        "--project-dir",
        str(REPO / "dbt"),
        "--profiles-dir",
        str(REPO / "dbt"),
        "--quiet",
        "--vars",
        "{recommendation_min_votes: 20}",
    ]
    started = time.monotonic()
    code = subprocess.run(cmd, env=env, check=False).returncode
    if code != 0:
        sys.exit(f"demo: dbt build failed with exit code {code}")
    print(f"dbt build passed in {time.monotonic() - started:.1f}s")
    banner("Top 5 recommendations for 3 popular titles")
    subprocess.run([sys.executable, str(show), "--titles", "3", "--top", "5"], env=env, check=True)


def airflow_steps(dsn: str, base_url: str) -> None:
    """The same pipeline as the DAG runs it, with the local runner: load all, dbt, then unchanged."""
    spec = importlib.util.spec_from_file_location("run_local", REPO / "dags" / "scripts" / "run_local.py")
    assert spec is not None and spec.loader is not None
    run_local = importlib.util.module_from_spec(spec)
    sys.modules["run_local"] = run_local  # dataclasses look their module up while the file runs
    spec.loader.exec_module(run_local)
    banner("airflow dags test imdb_download_and_load_dag, twice (IMDB_PIPELINE_RUNNER=local)")
    results = run_local.run(dsn, base_url, runs=2)
    for label, result in zip(("first run: new files", "second run: nothing changed"), results, strict=True):
        print(f"\n{label}")
        run_local.print_states(result)
    if not all(r.ok for r in results):
        sys.exit("demo: a DAG task failed; see the output above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("DEMO_SCALE", "0.01")))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-dbt", action="store_true")
    parser.add_argument("--airflow", action="store_true", help="run the Airflow DAG locally instead of the CLI")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="imdb-demo-") as tmp:
        work = Path(tmp)
        banner(f"Generating synthetic IMDb files at scale {args.scale}")
        files = synth.generate(work / "imdb", args.scale, args.seed, jobs=2)
        print(f"{sum(f.rows for f in files.values()):,} rows in 7 files under {work / 'imdb'}")
        real = os.environ.get("IMDB_BASE_URL")
        with serve(work / "imdb") as server, pg.server() as db:
            base_url = real or server.base_url
            dsn = db.dsn if db.owned is None else db.create_database("imdb")
            if args.airflow:
                airflow_steps(dsn, base_url)
                print(f"\ndemo finished in {time.monotonic() - started:.0f}s")
                return
            banner(f"Loading all seven datasets from {base_url} into PostgreSQL 18")
            print_table(run_loader(dsn, base_url, work / "first.json"))
            banner("Running again: the source is unchanged")
            print_table(run_loader(dsn, base_url, work / "second.json"))
            if not args.skip_dbt:
                dbt_steps(dsn)
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
