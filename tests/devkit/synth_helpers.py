"""A generated set of synthetic IMDb files, and ways to read it back in tests."""

from __future__ import annotations

import gzip
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
