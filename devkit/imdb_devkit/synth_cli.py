"""``imdb-synth``: write the seven synthetic IMDb ``.tsv.gz`` files."""

from __future__ import annotations

import argparse
import os
import sys
import time
from enum import IntEnum
from pathlib import Path

from imdb_devkit import synth
from imdb_devkit.days import DEFAULT_CHANGES, DayChanges
from imdb_loader import datasets as registry


class ExitCode(IntEnum):
    OK = 0
    BAD_ARGUMENTS = 2
    """A bad scale, dirty rate, day or change fraction: nothing was written."""
    CANNOT_WRITE = 3
    """The output directory or a file could not be written."""


def _decimal(fraction: float) -> str:
    return f"{fraction:.10f}".rstrip("0").rstrip(".") or "0"


EPILOG = f"""\
days: --day N writes the files as IMDb would publish them N days after day 0 (the
default), from the same seed and scale, without day N-1's files. Each day, by default:
{chr(10).join(f"  {name}={_decimal(getattr(DEFAULT_CHANGES, name))}" for name in DayChanges.names())}
(estimates of IMDb's daily churn, see imdb_devkit.days; left_dangling only for dirty files).
--changes NAME=FRACTION,... sets some, e.g. --changes ratings=0.5,new_titles=0.001.
Writing day N+1 over day N in a served folder gives every file a new ETag and Last-Modified.

exit codes:
  0  written   2  bad arguments (one line on stderr)   3  the files could not be written
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imdb-synth",
        description="Write synthetic IMDb datasets (<dataset>.tsv.gz with the real headers and quirks).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
    p.add_argument("--scale", type=float, default=0.001, help="1.0 is about today's real row counts")
    p.add_argument("--seed", type=int, default=0, help="same seed, scale and day give byte-identical files")
    p.add_argument("--day", type=int, default=0, help="days after day 0 (default 0: the files as always)")
    p.add_argument(
        "--changes",
        default="",
        metavar="NAME=FRACTION,...",
        help="daily change fractions in [0, 1] that differ from the defaults (see below)",
    )
    dirt = p.add_mutually_exclusive_group()
    dirt.add_argument(
        "--dirty-rate",
        type=float,
        default=synth.DEFAULT_DIRTY_RATE,
        help="share of rows duplicated and of references left dangling (default %(default)s)",
    )
    dirt.add_argument("--clean", action="store_true", help="no duplicate keys, no dangling references")
    p.add_argument(
        "--jobs",
        type=int,
        default=min(len(registry.DATASETS), os.cpu_count() or 1),
        help="files written in parallel (default: CPU count)",
    )
    p.add_argument("--also-plain", action="store_true", help="also write uncompressed <dataset>.tsv")
    p.add_argument(
        "--compresslevel", type=int, default=synth.DEFAULT_COMPRESSLEVEL, choices=range(1, 10), metavar="1-9"
    )
    p.add_argument(
        "--dataset",
        action="append",
        dest="datasets",
        metavar="NAME",
        help="only this dataset (repeatable; default: all seven)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        changes = DayChanges.parse(args.changes)
        files = synth.generate(
            args.out,
            args.scale,
            args.seed,
            clean=args.clean,
            dirty_rate=args.dirty_rate,
            jobs=args.jobs,
            also_plain=args.also_plain,
            datasets=args.datasets,
            compresslevel=args.compresslevel,
            day=args.day,
            changes=changes,
        )
    except ValueError as exc:
        print(f"imdb-synth: {exc}", file=sys.stderr)
        return ExitCode.BAD_ARGUMENTS
    except OSError as exc:
        print(f"imdb-synth: {exc}", file=sys.stderr)
        return ExitCode.CANNOT_WRITE
    for f in files.values():
        print(f"{f.path}\t{f.rows} rows\t{f.bytes} bytes\t{f.duplicate_rows} duplicates\t{f.dangling_refs} dangling")
    total_rows = sum(f.rows for f in files.values())
    elapsed = time.monotonic() - started
    print(f"wrote {len(files)} files (day {args.day}), {total_rows} rows in {elapsed:.1f}s", file=sys.stderr)
    return ExitCode.OK


if __name__ == "__main__":
    raise SystemExit(main())
