"""The synthetic generator: determinism, headers, shapes, references, quirks, memory, CLI."""

from __future__ import annotations

import collections
import gzip
import re
import statistics
import unicodedata
from pathlib import Path

import pytest

from imdb_devkit import synth, synth_cli
from imdb_loader import datasets as registry
from tests.devkit.synth_helpers import (
    TINY_SCALE,
    SynthSet,
    assert_every_quirk_is_in_the_files,
    assert_generates_in_constant_memory,
    assert_long_crew_lists,
)

NULL = "\\N"
# IMDb's genre vocabulary as published (an independent reference, not the generator's list).
REAL_GENRES = {
    "Action", "Adult", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama",
    "Family", "Fantasy", "Film-Noir", "Game-Show", "History", "Horror", "Music", "Musical", "Mystery", "News",
    "Reality-TV", "Romance", "Sci-Fi", "Short", "Sport", "Talk-Show", "Thriller", "War", "Western",
}  # fmt: skip
REAL_TITLE_TYPES = {
    "tvEpisode", "short", "movie", "video", "tvSeries", "tvMovie", "tvMiniSeries", "tvSpecial",
    "videoGame", "tvShort", "tvPilot",
}  # fmt: skip


def _key_columns(ds: registry.Dataset) -> list[int]:
    return [ds.column_names.index(k) for k in ds.primary_key]


# --------------------------------------------------------------------------- determinism and format


def test_same_seed_gives_identical_bytes_other_seed_differs(tmp_path: Path) -> None:
    serial = synth.generate(tmp_path / "a", TINY_SCALE, seed=3, jobs=1)
    parallel = synth.generate(tmp_path / "b", TINY_SCALE, seed=3, jobs=2)
    other = synth.generate(tmp_path / "c", TINY_SCALE, seed=4, jobs=1)
    assert list(serial) == list(registry.NAMES)
    for name in registry.NAMES:
        assert serial[name].path.read_bytes() == parallel[name].path.read_bytes(), name
        assert serial[name].path.read_bytes() != other[name].path.read_bytes(), name


def test_gzip_member_has_no_mtime_and_no_file_name(synth_dirty: SynthSet) -> None:
    for f in synth_dirty.files.values():
        head = f.path.read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08"
        assert head[3] & 0x08 == 0, "FNAME flag set"
        assert head[4:8] == b"\0\0\0\0", "mtime set"


def test_exact_headers_and_field_counts(synth_dirty: SynthSet) -> None:
    for ds in registry.DATASETS:
        raw = gzip.decompress((synth_dirty.dir / ds.file_name).read_bytes())
        lines = raw.split(b"\n")
        assert lines[0].decode() == "\t".join(ds.header)
        assert lines[-1] == b"", "file must end with a newline"
        for number, line in enumerate(lines[1:-1], start=2):
            assert line.count(b"\t") == len(ds.columns) - 1, f"{ds.name} line {number}"
            assert b"\r" not in line and b"\0" not in line, f"{ds.name} line {number}"
        raw.decode("utf-8")  # valid UTF-8 throughout
        assert len(lines) - 2 == synth_dirty.files[ds.name].rows


def test_result_describes_the_files(synth_dirty: SynthSet) -> None:
    for f in synth_dirty.files.values():
        assert f.bytes == f.path.stat().st_size
        assert f.plain_path is not None and f.plain_bytes == f.plain_path.stat().st_size
        assert gzip.decompress(f.path.read_bytes()) == f.plain_path.read_bytes()


@pytest.mark.parametrize("dataset", registry.NAMES)
def test_row_counts_follow_the_scale(synth_clean: SynthSet, dataset: str) -> None:
    expected = registry.BY_NAME[dataset].rows_at_scale_1 * TINY_SCALE
    assert 0.85 * expected <= synth_clean.files[dataset].rows <= 1.15 * expected


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        synth.generate(tmp_path, 0)
    with pytest.raises(ValueError, match="dirty rate"):
        synth.generate(tmp_path, TINY_SCALE, dirty_rate=1.5)
    with pytest.raises(registry.UnknownDatasetError):
        synth.generate(tmp_path, TINY_SCALE, datasets=["title.nope"])


# --------------------------------------------------------------------------- references and dirt


def _title_ids(s: SynthSet) -> set[str]:
    return set(s.column("title.basics", "tconst"))


def _references(s: SynthSet) -> dict[str, list[str]]:
    """Every title / name reference in the files, by what it should point at."""
    titles: list[str] = []
    names: list[str] = []
    for row in s.rows("title.principals"):
        titles.append(row[0])
        names.append(row[2])
    titles += s.column("title.akas", "titleId")
    titles += s.column("title.ratings", "tconst")
    for tconst, directors, writers in s.rows("title.crew"):
        titles.append(tconst)
        names += [n for field in (directors, writers) if field != NULL for n in field.split(",")]
    for tconst, parent, _, _ in s.rows("title.episode"):
        titles += [tconst, parent]
    for known in s.column("name.basics", "knownForTitles"):
        if known not in (NULL, ""):
            titles += known.split(",")
    return {"title.basics": titles, "name.basics": names}


def _resolving_share(s: SynthSet) -> dict[str, float]:
    targets = {"title.basics": _title_ids(s), "name.basics": set(s.column("name.basics", "nconst"))}
    refs = _references(s)
    return {k: sum(r in targets[k] for r in refs[k]) / len(refs[k]) for k in refs}


def _duplicate_keys(s: SynthSet, dataset: str) -> int:
    cols = _key_columns(registry.BY_NAME[dataset])
    keys = collections.Counter(tuple(row[c] for c in cols) for row in s.rows(dataset))
    return sum(n - 1 for n in keys.values())


def test_clean_references_all_resolve_and_keys_are_unique(synth_clean: SynthSet) -> None:
    assert _resolving_share(synth_clean) == {"title.basics": 1.0, "name.basics": 1.0}
    for name in registry.NAMES:
        assert _duplicate_keys(synth_clean, name) == 0, name
        assert synth_clean.files[name].duplicate_rows == synth_clean.files[name].dangling_refs == 0


def test_dirty_files_have_a_few_dangling_references_and_duplicates(synth_dirty: SynthSet) -> None:
    for target, share in _resolving_share(synth_dirty).items():
        assert 0.99 <= share < 1.0, target
    for name in registry.NAMES:
        found = _duplicate_keys(synth_dirty, name)
        assert found >= 1, name
        assert found == synth_dirty.files[name].duplicate_rows, name


def test_episodes_point_at_series_and_are_episodes(synth_clean: SynthSet) -> None:
    types = {row[0]: row[1] for row in synth_clean.rows("title.basics")}
    episodes = list(synth_clean.rows("title.episode"))
    assert {types[e[0]] for e in episodes} == {"tvEpisode"}
    assert {types[e[1]] for e in episodes} == {"tvSeries", "tvMiniSeries"}
    assert len(episodes) == sum(t == "tvEpisode" for t in types.values())
    parents = collections.Counter(e[1] for e in episodes)
    assert max(parents.values()) >= 20, "some long-running series have many episodes"


# --------------------------------------------------------------------------- shapes


def test_title_type_mix_and_genres(synth_clean: SynthSet) -> None:
    types = collections.Counter(synth_clean.column("title.basics", "titleType"))
    assert set(types) == REAL_TITLE_TYPES
    assert 0.6 <= types["tvEpisode"] / types.total() <= 0.85
    genre_fields = list(synth_clean.column("title.basics", "genres"))
    lists = [g.split(",") for g in genre_fields if g != NULL]
    assert 0 < genre_fields.count(NULL) < 0.2 * len(genre_fields)
    assert {len(g) for g in lists} == {1, 2, 3}
    assert all(g == sorted(g) for g in lists)
    assert {x for g in lists for x in g} <= REAL_GENRES


def test_null_rates_and_empty_strings(synth_clean: SynthSet) -> None:
    runtime = list(synth_clean.column("title.basics", "runtimeMinutes"))
    assert 0.3 <= runtime.count(NULL) / len(runtime) <= 0.9
    assert all(v == NULL or v.isdigit() for v in runtime)
    professions = list(synth_clean.column("name.basics", "primaryProfession"))
    assert "" in professions, "an empty primaryProfession (not NULL) as in the real file"
    births = list(synth_clean.column("name.basics", "birthYear"))
    assert births.count(NULL) > 0.5 * len(births)
    akas = list(synth_clean.rows("title.akas"))
    assert any(row[2] == "" for row in akas) and any(row[4] == "" for row in akas)
    assert any(row[4] == NULL for row in akas)


def test_ratings_shape(synth_clean: SynthSet) -> None:
    rows = list(synth_clean.rows("title.ratings"))
    ratings = [r[1] for r in rows]
    assert all(re.fullmatch(r"\d{1,2}\.\d", r) and 1.0 <= float(r) <= 10.0 for r in ratings)
    assert "10.0" in ratings and "1.0" in ratings
    votes = sorted(int(r[2]) for r in rows)
    assert votes[0] >= 5
    assert votes[-1] >= 100 * statistics.median(votes), "numVotes is heavy-tailed"


def test_principals_shape_and_popularity(synth_clean: SynthSet) -> None:
    per_title: dict[str, list[int]] = collections.defaultdict(list)
    for row in synth_clean.rows("title.principals"):
        per_title[row[0]].append(int(row[1]))
    assert all(orders == list(range(1, len(orders) + 1)) for orders in per_title.values())
    counts = {t: len(o) for t, o in per_title.items()}
    assert max(counts.values()) == 10
    votes = {r[0]: int(r[2]) for r in synth_clean.rows("title.ratings")}
    ranked = sorted(votes, key=votes.__getitem__)
    popular, obscure = ranked[-len(ranked) // 10 :], ranked[: len(ranked) // 10]
    assert statistics.mean(counts[t] for t in popular) > statistics.mean(counts[t] for t in obscure)
    characters = [c for c in synth_clean.column("title.principals", "characters") if c != NULL]
    assert all(c.startswith("[") and c.endswith("]") for c in characters)


def _scripts(texts: list[str]) -> set[str]:
    found = set()
    for text in texts:
        for ch in text:
            if ord(ch) >= 0x1F300:
                found.add("EMOJI")
            elif ord(ch) > 0x7F:
                name = unicodedata.name(ch, "")
                found.add("LATIN+DIACRITIC" if name.startswith("LATIN") else name.split(" ")[0])
    return found


def test_unicode_in_many_scripts(synth_clean: SynthSet) -> None:
    texts = list(synth_clean.column("title.basics", "primaryTitle"))
    texts += synth_clean.column("title.akas", "title")
    texts += synth_clean.column("name.basics", "primaryName")
    wanted = {"LATIN+DIACRITIC", "CYRILLIC", "GREEK", "CJK", "ARABIC", "HEBREW", "DEVANAGARI", "THAI", "EMOJI"}
    assert wanted <= _scripts(texts)


# --------------------------------------------------------------------------- quirks, found in the files


def test_quotes_and_backslashes_in_titles(synth_clean: SynthSet) -> None:
    titles = set(synth_clean.column("title.basics", "primaryTitle"))
    assert any('"' in t[1:] and not t.startswith('"') for t in titles), "a quote inside a title"
    assert any(t.count('"') % 2 == 1 for t in titles), "an unbalanced quote"
    assert any(t.startswith('"') and len(t) > 1 for t in titles), "a title starting with a quote"
    assert any(re.fullmatch(r"[A-Z]:\\\w+\\\w+", t) for t in titles), "a Windows path"
    assert any(t.endswith("\\") for t in titles), "a trailing backslash"
    assert any("\\." in t for t in titles), "backslash-dot inside a title"
    assert "\\n" in titles, "a title that is backslash + n"
    assert any(t.startswith("\\N") and t != NULL for t in titles), "starts like NULL but is not"
    assert NULL not in titles
    names = set(synth_clean.column("name.basics", "primaryName"))
    assert any(n.startswith('"') for n in names)


def test_escaped_json_in_characters(synth_clean: SynthSet) -> None:
    characters = set(synth_clean.column("title.principals", "characters"))
    assert any('\\"' in c for c in characters), 'a \\" inside the characters JSON'
    assert any("\\\\" in c for c in characters), "an escaped backslash inside the characters JSON"


def test_akas_separators_regions_and_null_booleans(synth_clean: SynthSet) -> None:
    rows = list(synth_clean.rows("title.akas"))
    assert any(len(r[5].split("\x02")) >= 3 for r in rows), "several types"
    assert any(len(r[6].split("\x02")) >= 2 for r in rows), "several attributes"
    assert {"XWW", "XEU", "SUHH", "CSHH", "XYU", "DDDE"} <= {r[3] for r in rows}
    flags = collections.Counter(r[7] for r in rows)
    assert set(flags) == {"0", "1", NULL}
    assert all(int(r[1]) >= 1 for r in rows)


def test_odd_years_and_seasons(synth_clean: SynthSet) -> None:
    starts = [int(y) for y in synth_clean.column("title.basics", "startYear") if y != NULL]
    assert min(starts) < 1000 and 0 in starts
    births = [int(y) for y in synth_clean.column("name.basics", "birthYear") if y != NULL]
    assert min(births) < 1000
    seasons = [int(s) for s in synth_clean.column("title.episode", "seasonNumber") if s != NULL]
    assert max(seasons) >= 1900, "a season number that looks like a year"


def test_very_long_crew_lists(synth_clean: SynthSet) -> None:
    assert_long_crew_lists(synth_clean)


def test_quirk_catalog_matches_the_files(synth_clean: SynthSet) -> None:
    assert_every_quirk_is_in_the_files(synth_clean)


def test_quirks_exist_at_the_smallest_scale(tmp_path: Path) -> None:
    small = SynthSet(tmp_path, synth.generate(tmp_path, 1e-9, seed=1, clean=True))
    assert small.files["title.basics"].rows == synth.MIN_TITLES
    assert_every_quirk_is_in_the_files(small)
    assert_long_crew_lists(small)


# --------------------------------------------------------------------------- memory and the CLI


@pytest.mark.slow
def test_scale_001_runs_in_constant_memory(tmp_path: Path) -> None:
    assert_generates_in_constant_memory(tmp_path)


def test_cli_writes_files_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--out", str(tmp_path), "--scale", str(TINY_SCALE), "--clean", "--dataset", "title.ratings"]
    assert synth_cli.main([*argv, "--also-plain", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "title.ratings.tsv.gz" in out and "\t0 duplicates" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["title.ratings.tsv", "title.ratings.tsv.gz"]


def test_cli_refuses_bad_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_cli.main(["--out", str(tmp_path), "--scale", "-1"]) == 2
    assert "scale" in capsys.readouterr().err
