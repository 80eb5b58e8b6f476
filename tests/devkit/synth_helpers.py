"""A generated set of synthetic IMDb files, and ways to read it back in tests."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imdb_devkit import synth
from imdb_loader import datasets as registry

TINY_SCALE = 0.0005


@dataclass(frozen=True)
class SynthSet:
    dir: Path
    files: dict[str, synth.GeneratedFile]

    def rows(self, dataset: str) -> Iterator[list[str]]:
        """Data rows of a generated file as field lists (header checked and skipped)."""
        ds = registry.BY_NAME[dataset]
        with gzip.open(self.dir / ds.file_name, "rt", encoding="utf-8", newline="\n") as f:
            header = next(f).rstrip("\n").split("\t")
            assert tuple(header) == ds.header
            for line in f:
                yield line.rstrip("\n").split("\t")

    def column(self, dataset: str, column: str) -> Iterator[str]:
        index = registry.BY_NAME[dataset].header.index(column)
        return (row[index] for row in self.rows(dataset))


def assert_long_crew_lists(files: SynthSet) -> None:
    rows = list(files.rows("title.crew"))
    assert max(len(r[1].split(",")) for r in rows) >= 500
    assert max(len(r[2].split(",")) for r in rows) >= 500


def assert_every_quirk_is_in_the_files(files: SynthSet) -> None:
    for quirk in synth.QUIRKS:
        if quirk.value is None:
            continue
        values = set(files.column(quirk.dataset, quirk.column))
        assert quirk.value in values, quirk


# Runs a command and prints the peak RSS of its process tree, so only the generator (and its
# workers) count: the probe is a fresh process with no other children.
RSS_PROBE = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def assert_generates_in_constant_memory(out: Path, *extra_args: str) -> None:
    """imdb-synth at scale 0.01 (plus ``extra_args``) stays under 150 MiB and writes the principals."""
    cmd = [sys.executable, "-m", "imdb_devkit.synth_cli", "--out", str(out)]
    cmd += ["--scale", "0.01", "--seed", "5", "--jobs", "2", *extra_args]
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, *cmd], capture_output=True, text=True, check=True)
    peak_kib = int(probe.stdout.strip())
    assert peak_kib < 150 * 1024, f"peak RSS {peak_kib} KiB"
    with gzip.open(out / "title.principals.tsv.gz", "rb") as f:
        rows = sum(1 for _ in f) - 1
    assert rows > 0.85 * synth.expected_rows("title.principals", 0.01)
