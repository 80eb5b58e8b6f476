"""Days of the synthetic IMDb: day 0 as always, day N from (seed, scale, day), churn by the fractions.

Every check reads the written files back; nothing here trusts the generator's own counts
without comparing them to the files.
"""

from __future__ import annotations

import collections
import email.utils
import gzip
import hashlib
import json
import math
from pathlib import Path

import psycopg2
import pytest
import requests

from imdb_devkit import synth, synth_cli
from imdb_devkit.days import DEFAULT_CHANGES, NO_CHANGES, DayChanges, Growth
from imdb_devkit.server import serve
from imdb_loader import cli as loader_cli
from imdb_loader import datasets as registry
from tests.devkit.synth_helpers import (
    TINY_SCALE,
    SynthSet,
    assert_every_quirk_is_in_the_files,
    assert_generates_in_constant_memory,
    assert_long_crew_lists,
)

NULL = "\\N"
SCALE = 0.001
"""12,300 titles and 15,100 people: enough rows to see fractions of a percent."""
BIG = DayChanges(
    ratings=0.3,
    new_titles=0.01,
    new_names=0.01,
    removed_titles=0.01,
    removed_names=0.01,
    title_edits=0.02,
    name_edits=0.02,
    billing_edits=0.02,
    left_dangling=0.1,
)
"""Far more churn than IMDb's, so that each kind of change shows in a small file."""

# What the generator wrote before days existed (sha256 of the decompressed file, rows,
# duplicate rows, dangling references), at TINY_SCALE: day 0 must stay exactly this.
DAY_0_SEED_7_DIRTY = {
    "name.basics": ("3737d8f43d9e200575b904a3de437c0bba8e4d8ff218873dc3177c5f539e394e", 7556, 6, 5),
    "title.basics": ("55028bee8c7fbca6608329dbb874395bbb155f8d5cf21b6376fcd5fa19013828", 6157, 7, 0),
    "title.akas": ("ab2116a276a09d4a7471e4d7aa77f725430c760c1ffca02e175cfe6253b8ecdf", 27614, 28, 31),
    "title.crew": ("224065ea6fe6f52dd1b575bef1db720a4d4e0be3a57c4e971a3f941138569585", 6156, 6, 9),
    "title.episode": ("46a6a8fa482f31cbba4321e411e6928915ce50609bb36d7805bddf7b6e1703e0", 4769, 3, 9),
    "title.principals": ("51a7d37eeb956a3d8709ead1de8c301cd2157de67072802b563714cda890768a", 48360, 58, 53),
    "title.ratings": ("e595a3c5c19ea225694d0400d18c2b05bea1c03be3ba0646b33cc0fc88500323", 758, 1, 2),
}
DAY_0_SEED_7_CLEAN = {
    "name.basics": ("6727edf5309bda41fb52f8687b2ea0379ee54aaf1d5ce05df3c7c8ddc8e5ac5b", 7550, 0, 0),
    "title.basics": ("16627ad31a7afb6f91b60d889184b6dc826a310ba1917b55d088e086c1a44e77", 6150, 0, 0),
    "title.akas": ("c51d3fd2c03984edcd667161707c5757b9b3a4f220db0a3c2629548b104a288c", 27586, 0, 0),
    "title.crew": ("c7dd62ebe8b108983e64ff28567b236a208426ce96853648eacc4c402badfa1a", 6150, 0, 0),
    "title.episode": ("54a1b3a4dcc9b0301be61d5740c29c4f1919eddf18866901b04bf65e19fe3384", 4766, 0, 0),
    "title.principals": ("55c5ce2ad0c829133e74ce4ded25806cb89c97654272b20c3c002ae7b74333e6", 48302, 0, 0),
    "title.ratings": ("2c9c9e1d0b3feed130b8b558ef35ade267111ebd4650463ffdd23f1770d940d0", 757, 0, 0),
}


def _index(ident: str) -> int:
    return int(ident[2:]) - 1


def _digests(files: dict[str, synth.GeneratedFile]) -> dict[str, tuple[str, int, int, int]]:
    return {
        name: (
            hashlib.sha256(gzip.decompress(f.path.read_bytes())).hexdigest(),
            f.rows,
            f.duplicate_rows,
            f.dangling_refs,
        )
        for name, f in files.items()
    }


def _by_key(files: SynthSet, dataset: str) -> dict[tuple[str, ...], list[str]]:
    """Rows by primary key (clean files: the keys are unique)."""
    ds = registry.BY_NAME[dataset]
    cols = [ds.column_names.index(k) for k in ds.primary_key]
    rows = {tuple(row[c] for c in cols): row for row in files.rows(dataset)}
    return rows


def _by_title(files: SynthSet, dataset: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = collections.defaultdict(list)
    for row in files.rows(dataset):
        out[row[0]].append(row)
    return out


def assert_about(observed: int, share: float, among: int) -> None:
    """``observed`` is what ``among`` independent chances of ``share`` give, within 4.5 sigma."""
    expected = share * among
    sigma = math.sqrt(among * share * (1 - share))
    assert abs(observed - expected) <= 4.5 * sigma + 1, f"{observed} vs {expected:.1f} (sigma {sigma:.1f})"


def _days(tmp: pytest.TempPathFactory, label: str, days: tuple[int, ...], **kw: object) -> list[SynthSet]:
    out = []
    for day in days:
        path = tmp.mktemp(f"{label}-day{day}")
        out.append(SynthSet(path, synth.generate(path, SCALE, seed=5, day=day, jobs=2, **kw)))
    return out


@pytest.fixture(scope="module")
def clean_days(tmp_path_factory: pytest.TempPathFactory) -> list[SynthSet]:
    """Clean days 0, 1 and 2 under BIG changes."""
    return _days(tmp_path_factory, "clean", (0, 1, 2), clean=True, changes=BIG)


# --------------------------------------------------------------------------- day 0 and determinism


@pytest.mark.parametrize(("clean", "golden"), [(False, DAY_0_SEED_7_DIRTY), (True, DAY_0_SEED_7_CLEAN)])
def test_day_0_is_what_the_generator_always_wrote(
    tmp_path: Path, clean: bool, golden: dict[str, tuple[str, int, int, int]]
) -> None:
    assert _digests(synth.generate(tmp_path / "default", TINY_SCALE, seed=7, clean=clean)) == golden
    # Day 0 is day 0 whatever the daily changes are.
    explicit = synth.generate(tmp_path / "day0", TINY_SCALE, seed=7, clean=clean, day=0, changes=BIG)
    assert _digests(explicit) == golden


def test_a_day_without_changes_is_day_0(tmp_path: Path) -> None:
    """The churn keeps every row it does not change byte for byte, and counts the dirt alike."""
    day0 = synth.generate(tmp_path / "day0", TINY_SCALE, seed=7)
    day9 = synth.generate(tmp_path / "day9", TINY_SCALE, seed=7, day=9, changes=NO_CHANGES)
    assert _digests(day9) == _digests(day0)


def test_same_seed_and_day_give_identical_bytes_any_day_alone(tmp_path: Path) -> None:
    first = synth.generate(tmp_path / "a", TINY_SCALE, seed=3, day=3, changes=BIG, jobs=1)
    again = synth.generate(tmp_path / "b", TINY_SCALE, seed=3, day=3, changes=BIG, jobs=2)
    # Written over day 2's files: the result does not depend on what was there.
    synth.generate(tmp_path / "c", TINY_SCALE, seed=3, day=2, changes=BIG)
    over = synth.generate(tmp_path / "c", TINY_SCALE, seed=3, day=3, changes=BIG)
    other_day = synth.generate(tmp_path / "d", TINY_SCALE, seed=3, day=4, changes=BIG)
    for name in registry.NAMES:
        assert first[name].path.read_bytes() == again[name].path.read_bytes() == over[name].path.read_bytes(), name
        assert first[name].path.read_bytes() != other_day[name].path.read_bytes(), name


@pytest.mark.slow
def test_day_30_at_scale_001_runs_in_constant_memory(tmp_path: Path) -> None:
    """As day 0 does (test_synth): the churn holds one row, or one title's principals, at a time."""
    assert_generates_in_constant_memory(tmp_path, "--day", "30")


def test_growth_births_agree_with_counts() -> None:
    for per_day in (0.3, 1.0, 1.54, 3.075, 123.0):
        growth = Growth(first=1000, per_day=per_day)
        for k in range(200):
            born = growth.birth(k)
            assert growth.count(born) > k >= growth.count(born - 1), (per_day, k)


# --------------------------------------------------------------------------- the fractions


def test_titles_added_removed_and_edited_by_the_fractions(clean_days: list[SynthSet]) -> None:
    day0, day1, _ = clean_days
    before, after = _by_key(day0, "title.basics"), _by_key(day1, "title.basics")
    titles = len(before)
    removed, added = before.keys() - after.keys(), after.keys() - before.keys()
    removable = [k for k in before if _index(k[0]) >= synth.MIN_TITLES and _index(k[0]) % synth.SERIES_STRIDE]
    assert_about(len(removed), BIG.removed_titles, len(removable))
    assert {
        k for k in removed if _index(k[0]) < synth.MIN_TITLES or before[k][1] in ("tvSeries", "tvMiniSeries")
    } == set()
    assert len(added) == math.floor(BIG.new_titles * titles)
    assert min(_index(k[0]) for k in added) == 2 * titles + 1, "new ids start past the dangling range"
    kept = [k for k in before.keys() & after.keys() if _index(k[0]) >= synth.MIN_TITLES]
    edited = [k for k in kept if before[k] != after[k]]
    assert_about(len(edited), BIG.title_edits, len(kept))
    header = registry.BY_NAME["title.basics"].header
    changed_columns = {header[c] for k in edited for c in range(len(header)) if before[k][c] != after[k][c]}
    assert changed_columns == {"genres", "primaryTitle"}
    assert all(before[k] == after[k] for k in before.keys() & after.keys() if _index(k[0]) < synth.MIN_TITLES)


def test_people_added_removed_and_renamed_by_the_fractions(clean_days: list[SynthSet]) -> None:
    day0, day1, _ = clean_days
    before, after = _by_key(day0, "name.basics"), _by_key(day1, "name.basics")
    removed, added = before.keys() - after.keys(), after.keys() - before.keys()
    assert_about(len(removed), BIG.removed_names, sum(_index(k[0]) >= synth.MIN_NAMES for k in before))
    assert len(added) == math.floor(BIG.new_names * len(before))
    assert min(_index(k[0]) for k in added) == 2 * len(before) + 1
    kept = [k for k in before.keys() & after.keys() if _index(k[0]) >= synth.MIN_NAMES]
    renamed = [k for k in kept if before[k][1] != after[k][1]]
    assert_about(len(renamed), BIG.name_edits, len(kept))
    gone_titles = {k[0] for k in _by_key(day0, "title.basics").keys() - _by_key(day1, "title.basics").keys()}
    for k in kept:
        old, new = before[k], after[k]
        assert old[2:5] == new[2:5], "only the name and the known-for titles change"
        if old[5] != new[5]:
            # Known-for titles only lose the removed ones.
            assert new[5] == NULL or set(new[5].split(",")) <= set(old[5].split(","))
            assert set(old[5].split(",")) - set(new[5].split(",") if new[5] != NULL else []) <= gone_titles


def test_ratings_change_for_a_large_share_and_votes_mostly_grow(clean_days: list[SynthSet]) -> None:
    day0, day1, _ = clean_days
    before, after = _by_key(day0, "title.ratings"), _by_key(day1, "title.ratings")
    kept = [k for k in before.keys() & after.keys() if _index(k[0]) >= synth.MIN_TITLES]
    changed = [k for k in kept if before[k] != after[k]]
    assert_about(len(changed), BIG.ratings, len(kept))
    grew = sum(int(after[k][2]) > int(before[k][2]) for k in changed)
    assert 0.9 * len(changed) <= grew < len(changed), "votes mostly grow; a few are discarded"
    assert sum(after[k][1] != before[k][1] for k in changed) > 0.1 * len(changed), "averages move too"
    assert all(1.0 <= float(r[1]) <= 10.0 and int(r[2]) >= 5 for r in after.values())
    # The popular titles (many votes) change more often than the obscure ones.
    ranked = sorted(kept, key=lambda k: int(before[k][2]))
    tenth = len(ranked) // 10
    share = {part: sum(before[k] != after[k] for k in keys) / len(keys) for part, keys in
             (("obscure", ranked[:tenth]), ("popular", ranked[-tenth:]))}  # fmt: skip
    assert share["popular"] > 2 * share["obscure"], share


def _billing(rows: list[list[str]]) -> tuple[list[str], list[str]]:
    return [r[2] for r in rows], [r[3] for r in rows]


def test_billing_edits_by_the_fraction_and_merged_people(clean_days: list[SynthSet]) -> None:
    day0, day1, _ = clean_days
    before, after = _by_title(day0, "title.principals"), _by_title(day1, "title.principals")
    people_after = set(day1.column("name.basics", "nconst"))
    gone_people = set(day0.column("name.basics", "nconst")) - people_after
    kept = [t for t in before.keys() & after.keys() if _index(t) >= synth.MIN_TITLES]
    rebilled = 0
    for t in kept:
        (people0, categories0), (people1, categories1) = _billing(before[t]), _billing(after[t])
        assert [r[1] for r in before[t]] == [r[1] for r in after[t]], "orderings stay"
        swapped = people0 != people1 and sorted(people0) == sorted(people1)
        rebilled += categories0 != categories1 or swapped
        # A removed person's credits move to the entry they were merged into (one that never goes).
        lost, gained = (
            collections.Counter(people0) - collections.Counter(people1),
            collections.Counter(people1) - collections.Counter(people0),
        )
        assert set(lost) <= gone_people and all(_index(p) < synth.MIN_NAMES for p in gained)
        assert lost.total() == gained.total()
    assert_about(rebilled, BIG.billing_edits, len(kept))
    assert not {r[2] for rows in after.values() for r in rows} - people_after, "no credit of a removed person"


# --------------------------------------------------------------------------- removals and new rows across files


def _references(s: SynthSet) -> dict[str, set[str]]:
    titles: set[str] = set()
    names: set[str] = set()
    for row in s.rows("title.principals"):
        titles.add(row[0])
        names.add(row[2])
    titles.update(s.column("title.akas", "titleId"))
    titles.update(s.column("title.ratings", "tconst"))
    for tconst, directors, writers in s.rows("title.crew"):
        titles.add(tconst)
        names.update(n for field in (directors, writers) if field != NULL for n in field.split(","))
    for tconst, parent, _, _ in s.rows("title.episode"):
        titles.update((tconst, parent))
    for known in s.column("name.basics", "knownForTitles"):
        if known != NULL:
            titles.update(known.split(","))
    return {"title.basics": titles, "name.basics": names}


@pytest.mark.parametrize("day", [1, 2])
def test_clean_days_leave_no_reference_dangling(clean_days: list[SynthSet], day: int) -> None:
    files = clean_days[day]
    refs = _references(files)
    assert refs["title.basics"] <= set(files.column("title.basics", "tconst"))
    assert refs["name.basics"] <= set(files.column("name.basics", "nconst"))
    assert all(f.dangling_refs == f.duplicate_rows == 0 for f in files.files.values())


def test_removed_titles_take_their_rows_along_and_new_ones_bring_theirs(clean_days: list[SynthSet]) -> None:
    day0, day1, _ = clean_days
    basics0, basics1 = _by_key(day0, "title.basics"), _by_key(day1, "title.basics")
    gone = {k[0] for k in basics0.keys() - basics1.keys()}
    new = {k[0] for k in basics1.keys() - basics0.keys()}
    assert gone and new
    for dataset in ("title.akas", "title.crew", "title.episode", "title.principals", "title.ratings"):
        titles1 = set(day1.column(dataset, registry.BY_NAME[dataset].header[0]))
        assert not gone & titles1, dataset
        titles0 = set(day0.column(dataset, registry.BY_NAME[dataset].header[0]))
        assert gone & titles0, f"some removed titles had {dataset} rows"
    # A new title has rows in every file a title of its type has rows in.
    assert new <= set(day1.column("title.crew", "tconst")) and new <= set(day1.column("title.akas", "titleId"))
    episodes = {t for t in new if basics1[(t,)][1] == "tvEpisode"}
    assert episodes and episodes == new & set(day1.column("title.episode", "tconst"))
    assert new & set(day1.column("title.ratings", "tconst")) and new & set(day1.column("title.principals", "tconst"))
    # Newcomers are credited on new titles, and known for them.
    new_people = {k[0] for k in _by_key(day1, "name.basics").keys() - _by_key(day0, "name.basics").keys()}
    credited = {r[2] for r in day1.rows("title.principals") if r[0] in new}
    assert credited & new_people and credited - new_people
    known = {
        t for row in day1.rows("name.basics") if row[0] in new_people and row[5] != NULL for t in row[5].split(",")
    }
    assert known & new and known - new


def test_unchanged_rows_keep_their_ids_and_bytes(clean_days: list[SynthSet]) -> None:
    day0, day1, _ = clean_days
    titles0 = day0.files["title.basics"].rows
    gone = {k[0] for k in _by_key(day0, "title.basics").keys() - _by_key(day1, "title.basics").keys()}
    for dataset in ("title.akas", "title.episode"):  # rows that change only by going with their title
        old = [r for r in day0.rows(dataset) if r[0] not in gone]
        new = [r for r in day1.rows(dataset) if _index(r[0]) < titles0]
        assert new == old, dataset
    # Day 0's ids are never reused or renumbered; the new ones follow each other.
    first_new, added = 2 * titles0 + 1, math.floor(BIG.new_titles * titles0)
    new_ids = set(day1.column("title.basics", "tconst")) - set(day0.column("title.basics", "tconst"))
    assert new_ids == {synth.tconst(i) for i in range(first_new, first_new + added)}


def test_day_2_builds_on_day_1(clean_days: list[SynthSet]) -> None:
    _, day1, day2 = clean_days
    b0, b1, b2 = (_by_key(d, "title.basics") for d in clean_days)
    assert not (b0.keys() - b1.keys()) & b2.keys(), "a removal is for good"
    new1 = b1.keys() - b0.keys()
    assert len(new1 - b2.keys()) <= 0.1 * len(new1), "day 1's newcomers stay (unless removed on day 2)"
    akas1, akas2 = _by_title(day1, "title.akas"), _by_title(day2, "title.akas")
    assert all(akas1[t] == akas2[t] for (t,) in new1 & b2.keys()), "a newcomer's rows are the same the next day"
    edited1 = [k for k in b0.keys() & b1.keys() & b2.keys() if b0[k] != b1[k]]
    held = sum(b1[k] == b2[k] for k in edited1)
    assert held >= 0.9 * len(edited1) > 0, "an edit holds until the next one"
    r0, r1, r2 = (_by_key(d, "title.ratings") for d in clean_days)
    common = r0.keys() & r1.keys() & r2.keys()
    assert sum(int(r2[k][2]) >= int(r0[k][2]) for k in common) >= 0.97 * len(common), "votes mostly grow"


def test_every_quirk_is_in_every_days_files(clean_days: list[SynthSet]) -> None:
    assert_every_quirk_is_in_the_files(clean_days[2])
    assert_long_crew_lists(clean_days[2])


# --------------------------------------------------------------------------- dirty days


@pytest.mark.parametrize("left_dangling", [0.0, 1.0])
def test_dirty_days_leave_removed_references_dangling_as_configured(tmp_path: Path, left_dangling: float) -> None:
    changes = DayChanges(
        removed_titles=0.02, removed_names=0.02, ratings=0.3, new_titles=0.01, left_dangling=left_dangling
    )
    day0 = SynthSet(tmp_path / "0", synth.generate(tmp_path / "0", TINY_SCALE, seed=2))
    day2 = SynthSet(tmp_path / "2", synth.generate(tmp_path / "2", TINY_SCALE, seed=2, day=2, changes=changes))
    plan = synth.Plan.make(2, TINY_SCALE, synth.DEFAULT_DIRTY_RATE)
    titles0, names0 = plan.titles, plan.names  # day 0's ids (the files' row counts include duplicates)
    titles = set(day2.column("title.basics", "tconst"))
    names = set(day2.column("name.basics", "nconst"))
    refs = _references(day2)
    # The generator's own dangling references point past day 0's ids; the others at removed ones.
    to_removed = {t for t in refs["title.basics"] - titles if _index(t) < titles0}
    to_removed |= {n for n in refs["name.basics"] - names if _index(n) < names0}
    if left_dangling == 0:
        assert not to_removed
    else:
        assert len(to_removed) > 20
    for f in day2.files.values():
        if f.dataset not in ("title.basics", "name.basics"):
            assert f.dangling_refs >= 1 and f.duplicate_rows >= 1, f.dataset
    if left_dangling == 1.0:
        assert day2.files["title.akas"].dangling_refs > day0.files["title.akas"].dangling_refs


# --------------------------------------------------------------------------- options and the CLI


@pytest.mark.parametrize("name", DayChanges.names())
@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan, math.inf, True, "0.1"])
def test_a_fraction_outside_0_1_is_refused_by_name(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^day changes: {name} must be a fraction in \\[0, 1\\]"):
        DayChanges(**{name: value})


def test_changes_parse_and_bad_days() -> None:
    assert DayChanges.parse("") == DEFAULT_CHANGES
    assert DayChanges.parse(" ratings=0.5 , new_titles=0 ") == DayChanges(ratings=0.5, new_titles=0.0)
    for text, message in (
        ("ratings", "'ratings' is not NAME=FRACTION"),
        ("bogus=0.1", "unknown change 'bogus'; expected one of: ratings,"),
        ("ratings=lots", "ratings must be a fraction in [0, 1], got 'lots'"),
        ("name_edits=2", "name_edits must be a fraction in [0, 1], got 2.0"),
    ):
        with pytest.raises(ValueError) as refused:
            DayChanges.parse(text)
        assert message in str(refused.value)
    with pytest.raises(ValueError, match="day must be a whole number >= 0"):
        synth.generate("/nonexistent/never-written", TINY_SCALE, day=-1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--changes", "ratings=1.5"], "imdb-synth: day changes: ratings must be a fraction in [0, 1], got 1.5"),
        (["--changes", "removed_names=-0.1"], "imdb-synth: day changes: removed_names must be a fraction"),
        (["--changes", "nope=0.1"], "imdb-synth: day changes: unknown change 'nope'"),
        (["--day", "-2"], "imdb-synth: day must be a whole number >= 0, got -2"),
    ],
)
def test_cli_refuses_bad_days_and_changes_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "out"
    assert synth_cli.main(["--out", str(out), "--scale", str(TINY_SCALE), *argv]) == synth_cli.ExitCode.BAD_ARGUMENTS
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(message), err
    assert not out.exists(), "nothing written"


def test_cli_cannot_write_is_its_own_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    argv = ["--out", str(blocker / "out"), "--scale", str(TINY_SCALE), "--day", "1"]
    assert synth_cli.main(argv) == synth_cli.ExitCode.CANNOT_WRITE
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_writes_the_day_the_library_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--out", str(tmp_path / "cli"), "--scale", str(TINY_SCALE), "--seed", "4", "--jobs", "1"]
    argv += ["--day", "2", "--changes", "ratings=0.5,new_titles=0.01", "--dataset", "title.ratings"]
    assert synth_cli.main(argv) == 0
    assert "(day 2)" in capsys.readouterr().err
    changes = DayChanges(ratings=0.5, new_titles=0.01)
    library = synth.generate(tmp_path / "lib", TINY_SCALE, seed=4, day=2, changes=changes, datasets=["title.ratings"])
    cli_file = tmp_path / "cli" / "title.ratings.tsv.gz"
    assert cli_file.read_bytes() == library["title.ratings"].path.read_bytes()


# --------------------------------------------------------------------------- the next day, served and loaded


def test_serving_day_1_over_day_0_is_a_new_version_of_every_file(tmp_path: Path) -> None:
    synth.generate(tmp_path, TINY_SCALE, seed=6)
    with serve(tmp_path) as server:
        day0 = {ds.file_name: requests.get(server.url(ds.file_name), timeout=10) for ds in registry.DATASETS}
        for name, first in day0.items():
            again = requests.get(server.url(name), headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
            assert again.status_code == 304, name
        synth.generate(tmp_path, TINY_SCALE, seed=6, day=1)  # at once: no waiting for the clock
        for name, first in day0.items():
            r = requests.get(server.url(name), headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
            assert r.status_code == 200, name
            assert r.content == (tmp_path / name).read_bytes(), name
            assert r.headers["ETag"] != first.headers["ETag"], name
            then = email.utils.parsedate_to_datetime(first.headers["Last-Modified"])
            assert email.utils.parsedate_to_datetime(r.headers["Last-Modified"]) > then, name


def _load_all(dsn: str, base_url: str, result_file: Path) -> tuple[str, dict[str, tuple[str, int]]]:
    """``imdb-load all``: the overall status and each dataset's (status, rows)."""
    code = loader_cli.main(["all", "--dsn", dsn, "--base-url", base_url, "--result-file", str(result_file)])
    assert code == 0
    result = json.loads(result_file.read_text())
    return result["status"], {d["dataset"]: (d["status"], d["rows"]) for d in result["datasets"]}


@pytest.mark.slow
def test_the_loader_loads_day_1_as_a_new_version(tmp_path: Path, fresh_db: str) -> None:
    site = tmp_path / "site"
    day0 = synth.generate(site, SCALE, seed=8, clean=True, jobs=2)
    votes0 = _total_votes(SynthSet(site, day0))
    with serve(site) as server:
        first = _load_all(fresh_db, server.base_url, tmp_path / "day0.json")
        day1 = synth.generate(site, SCALE, seed=8, clean=True, jobs=2, day=1)
        second = _load_all(fresh_db, server.base_url, tmp_path / "day1.json")
        third = _load_all(fresh_db, server.base_url, tmp_path / "again.json")
    assert first == ("loaded", {name: ("loaded", f.rows) for name, f in day0.items()})
    assert second == ("loaded", {name: ("loaded", f.rows) for name, f in day1.items()})
    assert third[0] == "unchanged"
    assert day1["title.basics"].rows != day0["title.basics"].rows, "day 1 has other titles"
    # The table holds day 1's ratings, not day 0's.
    votes1 = _total_votes(SynthSet(site, day1))
    assert votes1 > votes0
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT sum(num_votes) FROM imdb_raw.title_ratings")
        assert cur.fetchone() == (votes1,)
    conn.close()


def _total_votes(files: SynthSet) -> int:
    return sum(int(v) for v in files.column("title.ratings", "numVotes"))
