"""Every field of every dataset comes back byte for byte, quirks included."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest

from imdb_loader import datasets
from imdb_loader.errors import ExitCode

from .conftest import Runner, publish, query, write_gz


def as_imdb_text(value: object) -> str:
    """How IMDb writes a stored value: NULL as \\N, booleans as 0/1."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | Decimal):
        return str(value)
    assert isinstance(value, str)
    return value


def source_rows(path: Path) -> list[tuple[str, ...]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    assert lines[-1] == ""
    return [tuple(line.split("\t")) for line in lines[1:-1]]


@pytest.fixture
def loaded_all(clean_files: Path, site, run_load: Runner, fresh_db: str) -> str:
    root, _ = site
    publish(root, clean_files, *datasets.NAMES)
    assert run_load("all", "--parallel", "3") == ExitCode.OK
    return fresh_db


@pytest.mark.parametrize("ds", datasets.DATASETS, ids=lambda d: d.name)
def test_every_field_round_trips(ds: datasets.Dataset, loaded_all: str, clean_files: Path) -> None:
    expected = sorted(source_rows(clean_files / ds.file_name))
    columns = ", ".join(ds.column_names)
    stored = query(loaded_all, f"SELECT {columns} FROM imdb_raw.{ds.table}")
    got = sorted(tuple(as_imdb_text(v) for v in row) for row in stored)
    assert len(got) == len(expected)
    mismatches = [(e, g) for e, g in zip(expected, got, strict=True) if e != g]
    assert not mismatches, f"first mismatches: {mismatches[:3]}"


def test_quirks_survive_exactly(loaded_all: str) -> None:
    """The quirks PostgreSQL's text COPY format would rewrite are stored as IMDb wrote them."""
    titles = {t for (t,) in query(loaded_all, "SELECT primary_title FROM imdb_raw.title_basics")}
    characters = {c for (c,) in query(loaded_all, "SELECT characters FROM imdb_raw.title_principals")}
    assert any("\\" in t for t in titles), "a backslash in a title"
    assert any(t.endswith("\\") for t in titles), "a trailing backslash"
    assert any(t.startswith('"') for t in titles), "a title starting with a double quote"
    assert any(c and '\\"' in c for c in characters), 'an escaped quote \\" inside characters JSON'
    akas_types = query(loaded_all, "SELECT types FROM imdb_raw.title_akas WHERE types LIKE %s", ("%\x02%",))
    assert akas_types, "\\x02 separators kept in akas types"
    empty_vs_null = query(
        loaded_all,
        "SELECT count(*) FILTER (WHERE is_original_title IS NULL), count(*) FILTER (WHERE language = '') "
        "FROM imdb_raw.title_akas",
    )[0]
    assert empty_vs_null[0] > 0 and empty_vs_null[1] > 0, "\\N and empty strings stay distinct"


def test_text_copy_hazards_are_data(site, run_load: Runner, fresh_db: str) -> None:
    r"""A field "\." alone, "\n" as two characters, "\"" and a trailing backslash are plain data."""
    root, _ = site
    ds = datasets.get("title.ratings")
    hazards = [b"\\.", b"\\n", b'\\"', b"a\\", b'"unbalanced', b"\\\\N", b"\\t"]
    lines = [b"\t".join(h.encode() for h in ds.header)]
    crew = datasets.get("title.crew")
    crew_lines = [b"\t".join(h.encode() for h in crew.header)]
    for i, hazard in enumerate(hazards):
        crew_lines.append(b"tt%07d\t%s\t\\N" % (i, hazard))
    crew_lines.append(b"\\.")  # a lone "\." line: end-of-data in text COPY, a short row here
    lines.append(b"tt0000001\t7.0\t10")
    write_gz(root / crew.file_name, crew_lines)
    write_gz(root / ds.file_name, lines)
    assert run_load("title.crew", "--reject-limit", "1") == ExitCode.OK
    stored = dict(query(fresh_db, "SELECT tconst, directors FROM imdb_raw.title_crew"))
    assert [stored[f"tt{i:07d}"] for i in range(len(hazards))] == [h.decode() for h in hazards]
    rejects = query(fresh_db, "SELECT line_number, reason, raw_line FROM imdb_raw.load_rejects")
    assert rejects == [(len(crew_lines), "expected 3 fields, found 1", "\\.")]
