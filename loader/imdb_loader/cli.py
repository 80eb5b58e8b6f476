"""``imdb-load``: the command every loader pod runs. Parses, calls the library, exits."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from contextlib import suppress
from pathlib import Path
from types import FrameType

from imdb_loader import __version__, datasets
from imdb_loader.config import (
    DEFAULT_BASE_URL,
    DEFAULT_MIN_ROWS_RATIO,
    DEFAULT_REJECT_LIMIT,
    DEFAULT_SCHEMA,
    DEFAULT_SOURCE_TIMEOUT_S,
    HttpSettings,
    LoadConfig,
    RejectLimit,
)
from imdb_loader.connection import CONNECT_DEFAULTS, SHORT_STATEMENT_TIMEOUT
from imdb_loader.errors import ConfigError, ExitCode, ResultFileError, StoppedError
from imdb_loader.load import LoadResult
from imdb_loader.logs import configure
from imdb_loader.outcome import LoadStatus
from imdb_loader.runner import LoadRunner

DESCRIPTION = """\
Load IMDb non-commercial datasets into PostgreSQL.

For each dataset: ask the source whether the file changed since the last successful
load (ETag / Last-Modified); if it did, stream the gzip into COPY of a fresh table,
build its keys, and swap it in atomically. Bad rows go to <schema>.load_rejects, the
keys a new version added, changed or removed go to <schema>.load_changes, and every
run is recorded in <schema>.load_runs. Re-running is always safe.
"""

EPILOG_TEMPLATE = """\
datasets: {names}, or all

connection: --dsn or IMDB_DSN (a libpq URI such as the `uri` key of the
CloudNativePG app secret, or a keyword string); without either, libpq's PGHOST,
PGPORT, PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE are used.

bounded waits (each a default the DSN overrides by naming the same parameter):
  connect_timeout={connect_timeout} seconds (or PGCONNECT_TIMEOUT);
  keepalives after {keepalives_idle}s idle, every {keepalives_interval}s; {keepalives_count} missed drop the connection;
  tcp_user_timeout={tcp_user_timeout} ms for COPY data the server stops acknowledging;
  statement_timeout {statement_timeout} for the short statements (check, audit, swap),
  unless the DSN's options or PGOPTIONS set statement_timeout.
source: each request gets an answer within --source-timeout, retries included.

shrink guard: a new version is refused (exit 4, the previous table stays live) when
it has fewer rows than --min-rows-ratio of the live table's, or none at all.

exit codes:
  0  loaded, or skipped because the live table holds this source version
  2  bad arguments                3  source unavailable, incomplete or corrupt: try again
  4  source format changed, or the new version shrank (see the shrink guard)
  5  too many rejected rows       6  database error (or its connection lost)
  7  another loader is loading this dataset
  8  the loads ended as logged, but --result-file could not be written
  130 / 143  stopped by Ctrl-C / SIGTERM before the swap; the previous tables stay live
  1  unexpected error

examples:
  imdb-load title.ratings
  imdb-load all --parallel 3 --log-format json
  IMDB_BASE_URL=http://127.0.0.1:8000/ imdb-load name.basics --force
"""
EPILOG = EPILOG_TEMPLATE.format(
    names=", ".join(datasets.NAMES), statement_timeout=SHORT_STATEMENT_TIMEOUT, **CONNECT_DEFAULTS
)


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
    p.add_argument(
        "--min-rows-ratio",
        type=float,
        default=None,
        metavar="R",
        help="refuse a new version with fewer rows than R x the live table's "
        f"(default {DEFAULT_MIN_ROWS_RATIO:g}); 0 accepts any non-empty version",
    )
    p.add_argument(
        "--allow-shrink",
        action="store_true",
        help="swap in a new version however few rows it has, even none (lifts the shrink guard)",
    )
    p.add_argument(
        "--source-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up on a source that has not answered in this long, retries included "
        f"(default {DEFAULT_SOURCE_TIMEOUT_S:g}); each read waits at most 30s",
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
    if result.status == LoadStatus.UNCHANGED:
        return f"{result.dataset}: unchanged, skipped ({result.seconds:.2f}s)"
    if result.status == LoadStatus.LOADED:
        rate = result.rows / max(result.seconds, 1e-6)
        changes = f"; {result.changes.describe()}" if result.changes is not None else ""
        return (
            f"{result.dataset}: loaded {result.rows:,} rows, {result.rejected:,} rejected, "
            f"{result.seconds:.1f}s, {rate:,.0f} rows/s{changes}"
        )
    error = result.error or "unknown error"
    return error if error.startswith(result.dataset) else f"{result.dataset}: {error}"


def overall_status(results: list[LoadResult]) -> LoadStatus:
    statuses = {r.status for r in results}
    if statuses - {LoadStatus.LOADED, LoadStatus.UNCHANGED}:
        return LoadStatus.FAILED
    return LoadStatus.UNCHANGED if statuses == {LoadStatus.UNCHANGED} else LoadStatus.LOADED


def check_result_file(path: Path) -> None:
    """Before any load: a result file that cannot be written would only fail after the commit."""
    if path.is_dir():
        raise ConfigError(f"result-file: {path} is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"result-file: cannot create {path.parent}: {exc.strerror}") from None
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise ConfigError(f"result-file: {target} is not writable")


def write_result_file(path: Path, results: list[LoadResult]) -> None:
    document = {"status": str(overall_status(results)), "datasets": [r.as_dict() for r in results]}
    try:
        with path.open("w") as out:
            out.write(json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise ResultFileError(
            f"could not write the result file {path} ({exc.strerror or exc}); the loads ended as logged above"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure(args.log_format, logging.DEBUG if args.verbose else logging.INFO)
    log = logging.getLogger("imdb_loader.cli")
    try:
        chosen = datasets.resolve(args.datasets)
        cfg = config_from(args)
        if args.result_file is not None:
            check_result_file(args.result_file)
    except (ConfigError, datasets.UnknownDatasetError) as exc:
        parser.print_usage(sys.stderr)
        print(f"imdb-load: error: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_ARGUMENTS)
    runner = LoadRunner(chosen, cfg, parallel=args.parallel)
    stop_on_signals(runner)
    try:
        results = runner.run()
    except Exception as exc:  # a bug: still one line for the user, the traceback with -v
        log.debug("unexpected error", exc_info=True)
        final_line(args.log_format, f"unexpected error: {type(exc).__name__}: {exc}")
        return int(ExitCode.UNEXPECTED)
    for result in results:
        (log.error if result.status not in {LoadStatus.LOADED, LoadStatus.UNCHANGED} else log.info)(
            summary_line(result),
            extra={"dataset": result.dataset, "status": result.status, "rows": result.rows},
        )
    if args.result_file is not None:
        try:
            write_result_file(args.result_file, results)
        except ResultFileError as exc:
            final_line(args.log_format, f"error: {exc}")
            return int(exc.exit_code)
    return exit_code(runner, results, args.log_format)


def final_line(log_format: str, message: str) -> None:
    """The run's last word: plain for people, a JSON error record where logs are collected, so
    that a log pipeline files it at its level instead of as unparsed text."""
    if log_format == "json":
        logging.getLogger("imdb_loader.cli").error(message)
    else:
        print(f"imdb-load: {message}", file=sys.stderr)


def config_from(args: argparse.Namespace) -> LoadConfig:
    if args.parallel < 1:
        raise ConfigError(f"parallel: must be at least 1, got {args.parallel}")
    http = HttpSettings(source_timeout=args.source_timeout) if args.source_timeout is not None else None
    return LoadConfig.from_env(
        dsn=args.dsn,
        base_url=args.base_url,
        schema=args.schema,
        force=args.force or None,
        reject_limit=RejectLimit.parse(args.reject_limit) if args.reject_limit else None,
        min_rows_ratio=args.min_rows_ratio,
        allow_shrink=args.allow_shrink or None,
        http=http,
    )


def exit_code(runner: LoadRunner, results: list[LoadResult], log_format: str) -> int:
    if runner.stopped is not None:
        final_line(log_format, str(runner.stopped))
        return int(runner.stopped.exit_code)
    failures = [r for r in results if r.status not in {LoadStatus.LOADED, LoadStatus.UNCHANGED}]
    return failures[0].exit_code or int(ExitCode.UNEXPECTED) if failures else int(ExitCode.OK)


def stop_on_signals(runner: LoadRunner) -> None:
    """SIGTERM (Kubernetes stopping the pod) and Ctrl-C end every load before its swap; a
    second signal ends the process at once (the server rolls back what was not committed)."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        code = ExitCode.TERMINATED if signum == signal.SIGTERM else ExitCode.INTERRUPTED
        if runner.stopped is not None:
            os._exit(int(code))
        name = signal.Signals(signum).name
        runner.stop(StoppedError(f"stopped by {name} before the swap; the previous table stays live", code))

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)


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
