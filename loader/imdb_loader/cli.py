"""``imdb-load``: the command every loader pod runs. Parses, calls the library, exits."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from contextlib import suppress
from pathlib import Path

from imdb_loader import __version__, datasets
from imdb_loader.config import DEFAULT_BASE_URL, DEFAULT_REJECT_LIMIT, DEFAULT_SCHEMA, LoadConfig, RejectLimit
from imdb_loader.errors import ConfigError, ExitCode
from imdb_loader.load import LoadResult, load_many
from imdb_loader.logs import configure

DESCRIPTION = """\
Load IMDb non-commercial datasets into PostgreSQL.

For each dataset: ask the source whether the file changed since the last successful
load (ETag / Last-Modified); if it did, stream the gzip into COPY of a fresh table,
build its keys, and swap it in atomically. Bad rows go to <schema>.load_rejects, and
every run is recorded in <schema>.load_runs. Re-running is always safe.
"""

EPILOG = f"""\
datasets: {", ".join(datasets.NAMES)}, or all

connection: --dsn or IMDB_DSN (a libpq URI such as the `uri` key of the
CloudNativePG app secret, or a keyword string); without either, libpq's PGHOST,
PGPORT, PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE are used.

exit codes:
  0  loaded, or skipped because the source is unchanged
  2  bad arguments                3  source unavailable or incomplete
  4  source format changed        5  too many rejected rows
  6  database error               7  another loader is loading this dataset
  1  unexpected error

examples:
  imdb-load title.ratings
  imdb-load all --parallel 3 --log-format json
  IMDB_BASE_URL=http://127.0.0.1:8000/ imdb-load name.basics --force
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imdb-load",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("datasets", nargs="+", metavar="DATASET", help="IMDb dataset name (e.g. title.basics) or 'all'")
    p.add_argument("--dsn", default=None, help="PostgreSQL connection URI or keyword string [env IMDB_DSN]")
    p.add_argument(
        "--base-url",
        default=None,
        help=f"where the .tsv.gz files live [env IMDB_BASE_URL; {DEFAULT_BASE_URL}]",
    )
    p.add_argument("--schema", default=None, help=f"schema of the raw tables [env IMDB_SCHEMA; {DEFAULT_SCHEMA}]")
    p.add_argument("--force", action="store_true", help="load even if the source is unchanged")
    p.add_argument(
        "--reject-limit",
        default=None,
        metavar="N|FRACTION",
        help=f"fail when more rows are rejected: a count (100) or a fraction (0.01) [env IMDB_REJECT_LIMIT; "
        f"{DEFAULT_REJECT_LIMIT}]",
    )
    p.add_argument("--parallel", type=int, default=1, metavar="N", help="datasets to load at once (default 1)")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("IMDB_LOG_FORMAT", "text"),
        help="text for people, json for cluster logs [env IMDB_LOG_FORMAT]",
    )
    p.add_argument(
        "--result-file",
        type=Path,
        default=None,
        help="also write the outcome as JSON here (Airflow reads /airflow/xcom/return.json)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log each phase as it starts")
    p.add_argument("--version", action="version", version=f"imdb-load {__version__}")
    return p


def summary_line(result: LoadResult) -> str:
    if result.status == "unchanged":
        return f"{result.dataset}: unchanged, skipped ({result.seconds:.2f}s)"
    if result.status == "loaded":
        rate = result.rows / max(result.seconds, 1e-6)
        return (
            f"{result.dataset}: loaded {result.rows:,} rows, {result.rejected:,} rejected, "
            f"{result.seconds:.1f}s, {rate:,.0f} rows/s"
        )
    error = result.error or "unknown error"
    return error if error.startswith(result.dataset) else f"{result.dataset}: {error}"


def write_result_file(path: Path, results: list[LoadResult]) -> None:
    statuses = {r.status for r in results}
    overall = "failed" if "failed" in statuses else ("unchanged" if statuses == {"unchanged"} else "loaded")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"status": overall, "datasets": [r.as_dict() for r in results]}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure(args.log_format, logging.DEBUG if args.verbose else logging.INFO)
    log = logging.getLogger("imdb_loader.cli")
    try:
        chosen = datasets.resolve(args.datasets)
        if args.parallel < 1:
            raise ConfigError(f"parallel: must be at least 1, got {args.parallel}")
        cfg = LoadConfig.from_env(
            dsn=args.dsn,
            base_url=args.base_url,
            schema=args.schema,
            force=args.force or None,
            reject_limit=RejectLimit.parse(args.reject_limit) if args.reject_limit else None,
        )
    except (ConfigError, datasets.UnknownDatasetError) as exc:
        parser.print_usage(sys.stderr)
        print(f"imdb-load: error: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_ARGUMENTS)
    try:
        results = load_many(chosen, cfg, parallel=args.parallel)
    except KeyboardInterrupt:
        print("imdb-load: interrupted; live tables are unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line for the user, the traceback with -v
        log.debug("unexpected error", exc_info=True)
        print(f"imdb-load: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)
    for result in results:
        (log.error if result.status == "failed" else log.info)(
            summary_line(result),
            extra={"dataset": result.dataset, "status": result.status, "rows": result.rows},
        )
    if args.result_file is not None:
        write_result_file(args.result_file, results)
    failures = [r for r in results if r.status == "failed"]
    return failures[0].exit_code or int(ExitCode.UNEXPECTED) if failures else int(ExitCode.OK)


def run() -> None:
    code = main()
    # Every connection is closed and every file written by now. Skipping the interpreter's
    # teardown (freeing modules, libpq's and OpenSSL's exit handlers) saves about 30 ms per
    # run, which is a tenth of a small dataset's load: see docs/benchmarks/README.md.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe: nothing left to say anyway
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
