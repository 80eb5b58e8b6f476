"""Broken copies of IMDb files, for testing how a loader copes with bad input.

``write_variant(src, dst, defect, lines)`` streams ``src`` (``.tsv.gz`` or ``.tsv``) to
``dst`` (compressed when its name ends in ``.gz``), applying one named defect at the
given physical line numbers (line 1 is the header, data starts at line 2), and returns
the line numbers in ``dst`` that carry the defect. Which field is spoiled is chosen from
the dataset registry, by the file name.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from imdb_devkit.synth import deterministic_gzip
from imdb_loader import datasets as registry

HEADER = "header"
"""The last column renamed: the source format changed."""
EXTRA_COLUMN = "extra_column"
"""A new last column in the header and every row: the source format changed, consistently."""
FIELD_COUNT = "field_count"
"""The last field missing on a row."""
NON_INTEGER = "non_integer"
"""Text in the first integer column."""
INVALID_UTF8 = "invalid_utf8"
"""Bytes that are not UTF-8 inside a text field."""
NUL = "nul"
"""A NUL byte inside a text field."""
CR = "cr"
"""A stray carriage return inside a text field."""
CRLF = "crlf"
"""The row ends in CR LF."""
DUPLICATE_KEY = "duplicate_key"
"""The row written twice: a duplicate primary key."""
TRUNCATED_GZIP = "truncated_gzip"
"""The compressed stream cut short (see ``truncate_gzip``)."""

ROW_DEFECTS = (FIELD_COUNT, NON_INTEGER, INVALID_UTF8, NUL, CR, CRLF, DUPLICATE_KEY)
DEFECTS = (HEADER, EXTRA_COLUMN, *ROW_DEFECTS, TRUNCATED_GZIP)

_NON_INTEGER_TEXT = b"12x"
_INVALID_UTF8 = b"\xff\xfe"


@contextlib.contextmanager
def _read_lines(path: Path) -> Iterator[Iterable[bytes]]:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as gz:
            yield gz
    else:
        with open(path, "rb") as f:
            yield f


@contextlib.contextmanager
def _open_write(path: Path) -> Iterator[Callable[[bytes], object]]:
    if path.name.endswith(".gz"):
        with deterministic_gzip(path) as gz:
            yield gz.write
    else:
        with open(path, "wb") as f:
            yield f.write


def _dataset_of(path: Path) -> registry.Dataset:
    return registry.get(path.name)


def _text_field_index(ds: registry.Dataset) -> int:
    """The first text column outside the key (the key itself for title.ratings)."""
    for i, col in enumerate(ds.columns):
        if col.pg_type == "text" and col.name not in ds.primary_key:
            return i
    return 0


def _integer_field_index(ds: registry.Dataset) -> int:
    for i, col in enumerate(ds.columns):
        if col.pg_type == "integer":
            return i
    raise ValueError(f"{ds.name} has no integer column, so it cannot get a {NON_INTEGER!r} defect")


def _replace_field(line: bytes, index: int, change: Callable[[bytes], bytes]) -> bytes:
    fields = line.rstrip(b"\n").split(b"\t")
    fields[index] = change(fields[index])
    return b"\t".join(fields) + b"\n"


def _middle(insert: bytes) -> Callable[[bytes], bytes]:
    return lambda value: value[: len(value) // 2] + insert + value[len(value) // 2 :]


def _row_change(defect: str, ds: registry.Dataset) -> Callable[[bytes], list[bytes]]:
    """How one chosen data line becomes its output line(s)."""
    text_at = _text_field_index(ds)
    changes: dict[str, Callable[[bytes], list[bytes]]] = {
        FIELD_COUNT: lambda line: [line.rstrip(b"\n").rsplit(b"\t", 1)[0] + b"\n"],
        INVALID_UTF8: lambda line: [_replace_field(line, text_at, _middle(_INVALID_UTF8))],
        NUL: lambda line: [_replace_field(line, text_at, _middle(b"\x00"))],
        CR: lambda line: [_replace_field(line, text_at, _middle(b"\r"))],
        CRLF: lambda line: [line.rstrip(b"\n") + b"\r\n"],
        DUPLICATE_KEY: lambda line: [line, line],
    }
    if defect == NON_INTEGER:
        int_at = _integer_field_index(ds)
        return lambda line: [_replace_field(line, int_at, lambda _: _NON_INTEGER_TEXT)]
    return changes[defect]


def write_variant(src: Path | str, dst: Path | str, defect: str, lines: Iterable[int] = (2,)) -> list[int]:
    """Copy ``src`` to ``dst`` with ``defect`` at ``lines``; returns the defective lines of ``dst``."""
    src, dst = Path(src), Path(dst)
    if defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; expected one of: {', '.join(DEFECTS)}")
    if defect == TRUNCATED_GZIP:
        truncate_gzip(src, dst)
        return []
    ds = _dataset_of(src)
    wanted = sorted(set(lines))
    if defect in ROW_DEFECTS and (not wanted or wanted[0] < 2):
        raise ValueError(f"row defects need data line numbers (>= 2; line 1 is the header), got {wanted}")
    change = _row_change(defect, ds) if defect in ROW_DEFECTS else None
    affected: list[int] = []
    out_line = 0
    seen = 0
    with _read_lines(src) as reader, _open_write(dst) as write:
        for number, line in enumerate(reader, start=1):
            seen = number
            spoiled = _spoil(defect, ds, change, number=number, line=line, wanted=number in wanted)
            for i, piece in enumerate(spoiled):
                out_line += 1
                write(piece)
                # For a duplicate key the defect is the second copy; otherwise every changed line.
                if piece is not line or (defect == DUPLICATE_KEY and number in wanted and i == 1):
                    affected.append(out_line)
    missing = [n for n in wanted if n > seen]
    if change is not None and missing:
        raise ValueError(f"{src.name} has {seen} lines; cannot spoil line(s) {missing}")
    return affected if defect != EXTRA_COLUMN else [1]


def _spoil(
    defect: str,
    ds: registry.Dataset,
    change: Callable[[bytes], list[bytes]] | None,
    *,
    number: int,
    line: bytes,
    wanted: bool,
) -> list[bytes]:
    if defect == HEADER and number == 1:
        return [_replace_field(line, len(ds.columns) - 1, lambda name: name + b"Renamed")]
    if defect == EXTRA_COLUMN:
        return [line.rstrip(b"\n") + (b"\textraColumn\n" if number == 1 else b"\t\\N\n")]
    if change is not None and wanted:
        return change(line)
    return [line]


def truncate_gzip(src: Path | str, dst: Path | str, keep_fraction: float = 0.5) -> int:
    """Write ``src`` compressed to ``dst``, cut to ``keep_fraction`` of its bytes; returns the size."""
    src, dst = Path(src), Path(dst)
    if not 0 < keep_fraction < 1:
        raise ValueError(f"keep_fraction must be between 0 and 1, got {keep_fraction}")
    data = src.read_bytes()
    if not src.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=1, mtime=0)
    keep = max(1, int(len(data) * keep_fraction))
    dst.write_bytes(data[:keep])
    return keep
