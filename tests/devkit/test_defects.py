"""The defects helpers: each named defect lands exactly on the lines it reports, nowhere else."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest

from imdb_devkit import defects
from imdb_loader import datasets as registry
from tests.devkit.synth_helpers import SynthSet

BASICS = registry.BY_NAME["title.basics"]


def _lines(path: Path) -> list[bytes]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    assert raw.endswith(b"\n")
    return raw[:-1].split(b"\n")


def _spoil(
    s: SynthSet, tmp_path: Path, defect: str, lines: list[int], dataset: str = "title.basics"
) -> tuple[list[bytes], list[bytes], list[int]]:
    src = s.dir / registry.BY_NAME[dataset].file_name
    dst = tmp_path / src.name
    affected = defects.write_variant(src, dst, defect, lines)
    return _lines(src), _lines(dst), affected


def _only_these_differ(before: list[bytes], after: list[bytes], affected: list[int]) -> None:
    assert len(before) == len(after)
    differing = [n for n, (a, b) in enumerate(zip(before, after, strict=True), start=1) if a != b]
    assert differing == affected


def test_field_count(synth_clean: SynthSet, tmp_path: Path) -> None:
    before, after, affected = _spoil(synth_clean, tmp_path, defects.FIELD_COUNT, [2, 40])
    assert affected == [2, 40]
    _only_these_differ(before, after, affected)
    assert all(after[n - 1].count(b"\t") == len(BASICS.columns) - 2 for n in affected)


def test_non_integer_goes_into_an_integer_column(synth_clean: SynthSet, tmp_path: Path) -> None:
    before, after, affected = _spoil(synth_clean, tmp_path, defects.NON_INTEGER, [3])
    assert affected == [3]
    _only_these_differ(before, after, affected)
    fields = after[2].split(b"\t")
    index = BASICS.header.index("startYear")  # the first integer column of title.basics
    assert fields[index] == b"12x"
    assert fields[:index] == before[2].split(b"\t")[:index]
    with pytest.raises(ValueError, match=r"title\.crew has no integer column"):
        defects.write_variant(synth_clean.dir / "title.crew.tsv.gz", tmp_path / "c.tsv.gz", defects.NON_INTEGER)


@pytest.mark.parametrize(("defect", "needle"), [("invalid_utf8", b"\xff\xfe"), ("nul", b"\x00"), ("cr", b"\r")])
def test_bytes_inside_a_text_field(synth_clean: SynthSet, tmp_path: Path, defect: str, needle: bytes) -> None:
    before, after, affected = _spoil(synth_clean, tmp_path, defect, [2, 5])
    assert affected == [2, 5]
    _only_these_differ(before, after, affected)
    for n in affected:
        assert needle in after[n - 1]
        assert after[n - 1].count(b"\t") == before[n - 1].count(b"\t")
    if defect == "invalid_utf8":
        with pytest.raises(UnicodeDecodeError):
            after[1].decode("utf-8")


def test_crlf(synth_clean: SynthSet, tmp_path: Path) -> None:
    before, after, affected = _spoil(synth_clean, tmp_path, defects.CRLF, [4])
    assert affected == [4]
    _only_these_differ(before, after, affected)
    assert after[3] == before[3] + b"\r"


def test_duplicate_key(synth_clean: SynthSet, tmp_path: Path) -> None:
    before, after, affected = _spoil(synth_clean, tmp_path, defects.DUPLICATE_KEY, [2, 10])
    assert affected == [3, 12]
    assert len(after) == len(before) + 2
    assert after[2] == after[1] == before[1]
    assert after[11] == after[10] == before[9]


def test_header_changes(synth_clean: SynthSet, tmp_path: Path) -> None:
    before, after, affected = _spoil(synth_clean, tmp_path, defects.HEADER, [])
    assert affected == [1]
    _only_these_differ(before, after, [1])
    assert after[0].split(b"\t")[-1] == b"genresRenamed"
    before, after, affected = _spoil(synth_clean, tmp_path, defects.EXTRA_COLUMN, [])
    assert affected == [1]
    assert after[0] == before[0] + b"\textraColumn"
    assert all(a == b + b"\t\\N" for a, b in zip(after[1:], before[1:], strict=True))


def test_truncated_gzip(synth_clean: SynthSet, tmp_path: Path) -> None:
    src = synth_clean.dir / BASICS.file_name
    dst = tmp_path / BASICS.file_name
    assert defects.write_variant(src, dst, defects.TRUNCATED_GZIP) == []
    assert 0 < dst.stat().st_size < src.stat().st_size
    assert src.read_bytes().startswith(dst.read_bytes())
    with pytest.raises((EOFError, zlib.error)):
        gzip.decompress(dst.read_bytes())


def test_plain_tsv_in_and_out(synth_dirty: SynthSet, tmp_path: Path) -> None:
    src = synth_dirty.dir / "title.ratings.tsv"
    affected = defects.write_variant(src, tmp_path / "title.ratings.tsv", defects.FIELD_COUNT, [2])
    _only_these_differ(_lines(src), _lines(tmp_path / "title.ratings.tsv"), affected)


def test_bad_requests_are_refused(synth_clean: SynthSet, tmp_path: Path) -> None:
    src = synth_clean.dir / "title.ratings.tsv.gz"
    with pytest.raises(ValueError, match="unknown defect"):
        defects.write_variant(src, tmp_path / "x.tsv.gz", "gremlins")
    with pytest.raises(ValueError, match="header"):
        defects.write_variant(src, tmp_path / "x.tsv.gz", defects.NUL, [1])
    with pytest.raises(ValueError, match="cannot spoil"):
        defects.write_variant(src, tmp_path / "x.tsv.gz", defects.NUL, [10**7])


def test_every_defect_is_covered() -> None:
    tested = {"field_count", "non_integer", "invalid_utf8", "nul", "cr", "crlf", "duplicate_key", "header"}
    assert set(defects.DEFECTS) == tested | {"extra_column", "truncated_gzip"}
