"""``imdb-synth``: write the seven synthetic IMDb ``.tsv.gz`` files."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from imdb_devkit import synth
from imdb_loader import datasets as registry


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imdb-synth",
        description="Write synthetic IMDb datasets (<dataset>.tsv.gz with the real headers and quirks).",
    )
    p.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
    p.add_argument("--scale", type=float, default=0.001, help="1.0 is about today's real row counts")
    p.add_argument("--seed", type=int, default=0, help="same seed and scale give byte-identical files")
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
        )
    except (ValueError, OSError) as exc:
        print(f"imdb-synth: {exc}", file=sys.stderr)
        return 2
    for f in files.values():
        print(f"{f.path}\t{f.rows} rows\t{f.bytes} bytes\t{f.duplicate_rows} duplicates\t{f.dangling_refs} dangling")
    total_rows = sum(f.rows for f in files.values())
    print(f"wrote {len(files)} files, {total_rows} rows in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
