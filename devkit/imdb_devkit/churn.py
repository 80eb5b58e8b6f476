"""A day's churn, applied to a file's rows: day 0's rows (and the day's new ones) as they stand on day N.

The generator writes every row that ever existed up to the day, from the same random stream
as day 0; this drops the removed ones, edits the edited ones and re-counts the dirt, one row
(or one title's principals) at a time, so memory stays constant. What changes, and when, is
``imdb_devkit.days``; what an edit writes comes from the generator's own vocabularies.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from imdb_devkit import vocabulary
from imdb_devkit.days import FEWEST_VOTES, VOTE_DROP_SHARE, VOTE_GROWTH_PER_DAY, Day
from imdb_devkit.vocabulary import NULL


class GeneratorPlan(Protocol):
    """What the churn reads of the generator's plan (synth.Plan), which calls this module."""

    @property
    def day(self) -> Day: ...

    def popularity(self, index: int) -> float: ...


class RowCounts(Protocol):
    """The counts the churn keeps up to date (synth.Stats)."""

    duplicate_rows: int
    dangling_refs: int


RETITLE_SHARE = 0.25
"""Share of title edits that also change the primaryTitle (the rest change genres only)."""
SWAP_SHARE = 2 / 3
"""Share of billing edits that swap two neighbours (the rest change one principal's category)."""
ACTING = frozenset({"actor", "actress", "self"})

Fields = list[str]
Churn = Callable[[GeneratorPlan, Iterable[str]], Iterator[str]]


def on_day(plan: GeneratorPlan, dataset: str, lines: Iterable[str], stats: RowCounts) -> Iterator[str]:
    """``lines`` of ``dataset`` as they stand on the plan's day; the dirt is counted in ``stats``."""
    return _counted(plan.day, _DANGLING[dataset], _CHURN[dataset](plan, lines), stats)


def _index(ident: str) -> int:
    """``tt0000042`` / ``nm0000042`` -> 41, the generator's index."""
    return int(ident[2:]) - 1


def _fields(line: str) -> Fields:
    return line.rstrip("\n").split("\t")


def _line(fields: Fields) -> str:
    return "\t".join(fields) + "\n"


# --------------------------------------------------------------------------- counting the dirt


def _counted(day: Day, dangling: Callable[[Day, Fields], int], lines: Iterable[str], stats: RowCounts) -> Iterator[str]:
    """Count as the generator does: a duplicate is a repeat of the line before (the generator
    writes both copies together, and the churn treats both alike); a dangling reference is
    an id that resolves to no row on this day, counted once per row, not per copy."""
    previous = None
    for line in lines:
        if line == previous:
            stats.duplicate_rows += 1
        else:
            stats.dangling_refs += dangling(day, _fields(line))
        previous = line
        yield line


def _titles_missing(day: Day, ids: str) -> int:
    if "," not in ids:  # most fields hold one id
        return 0 if ids == NULL or day.title_exists(_index(ids)) else 1
    return sum(not day.title_exists(_index(t)) for t in ids.split(","))


def _names_missing(day: Day, ids: str) -> int:
    if "," not in ids:
        return 0 if ids == NULL or day.name_exists(_index(ids)) else 1
    return sum(not day.name_exists(_index(n)) for n in ids.split(","))


_DANGLING: dict[str, Callable[[Day, Fields], int]] = {
    "name.basics": lambda day, f: _titles_missing(day, f[5]),
    "title.basics": lambda day, f: 0,
    "title.akas": lambda day, f: _titles_missing(day, f[0]),
    "title.crew": lambda day, f: _titles_missing(day, f[0]) + _names_missing(day, f[1]) + _names_missing(day, f[2]),
    "title.episode": lambda day, f: _titles_missing(day, f[0]) + _titles_missing(day, f[1]),
    "title.principals": lambda day, f: _titles_missing(day, f[0]) + _names_missing(day, f[2]),
    "title.ratings": lambda day, f: _titles_missing(day, f[0]),
}


# --------------------------------------------------------------------------- removals


def _title_rows_go(day: Day, title: int, dataset: str) -> bool:
    """A removed title's rows go from this file, unless a dirty file keeps them (dangling)."""
    return day.title_removed(title) and not day.left_behind(title, dataset)


def _without_removed_titles(day: Day, ids: str, dataset: str) -> str:
    if ids == NULL:
        return ids
    kept = [t for t in ids.split(",") if not _title_rows_go(day, _index(t), dataset)]
    return ",".join(kept) if kept else NULL


def _merged_person(day: Day, ident: str, dataset: str) -> str:
    """A removed person's credit moves to the entry they were merged into (unless left dangling)."""
    person = _index(ident)
    if day.name_removed(person) and not day.left_behind(person, dataset):
        return vocabulary.nconst(day.merged_into(person))
    return ident


def _merged_people(day: Day, ids: str, dataset: str) -> str:
    if ids == NULL:
        return ids
    return ",".join(_merged_person(day, n, dataset) for n in ids.split(","))


# --------------------------------------------------------------------------- what an edit writes


def _other_genres(old: str, rng: random.Random) -> str:
    for _ in range(4):
        new = vocabulary.draw_genres(rng)
        if new != old:
            return new
    return "Drama" if old != "Drama" else "Comedy"


def _other_title(old: str, rng: random.Random) -> str:
    new = f"{rng.choice(vocabulary.WORDS_LATIN)} {rng.choice(vocabulary.WORDS_LATIN)}"
    return new if new != old else f"{new} {1 + rng.randrange(99)}"


def _other_name(old: str, rng: random.Random) -> str:
    """A new spelling: another last name after the first one, as when a credit is corrected."""
    first = old.split(" ", 1)[0]
    new = f"{first} {rng.choice(vocabulary.LAST_NAMES)}"
    return new if new != old else f"{new} Jr."


def _rebilled(rows: list[Fields], rng: random.Random) -> list[Fields]:
    """One title's principals, re-billed: two neighbours swap places, or one changes category.

    Duplicate rows of the same ordering (dirt) stay alike, so they stay duplicates.
    """
    orderings = list(dict.fromkeys(f[1] for f in rows))
    billed: dict[str, list[str]] = {}
    for f in rows:
        billed.setdefault(f[1], f[2:])
    if len(orderings) >= 2 and rng.random() < SWAP_SHARE:
        a = rng.randrange(len(orderings) - 1)
        x, y = orderings[a], orderings[a + 1]
        billed[x], billed[y] = billed[y], billed[x]
    else:
        which = orderings[rng.randrange(len(orderings))]
        person, category, _job, characters = billed[which]
        new = rng.choice([c for c in vocabulary.PRINCIPAL_CATEGORIES if c != category])
        if new not in ACTING:
            characters = NULL
        elif category not in ACTING or characters == NULL:
            characters = f'["{rng.choice(vocabulary.CHARACTERS)}"]'
        billed[which] = [person, new, NULL, characters]
    return [[f[0], f[1], *billed[f[1]]] for f in rows]


def _rating_on_day(day: Day, title: int, popularity: float, fields: Fields, changes: int) -> Fields:
    """numVotes after ``changes`` rating changes: each adds votes (popular titles more), now
    and then some are discarded; the average wobbles less the more votes there are."""
    votes0 = int(fields[2])
    step = 1 + int(votes0 * VOTE_GROWTH_PER_DAY / day.rating_rate(popularity))
    # The jitter stays below one step, so votes grow at every change that is not a drop.
    votes = votes0 + changes * step + int(day.vote_hash(title, changes, 0) * step)
    if day.vote_hash(title, changes, 1) < VOTE_DROP_SHARE:
        votes = max(FEWEST_VOTES, votes - 2 * step)  # below the count before this change
    spread = max(0.05, 2.5 / math.sqrt(votes))
    average = float(fields[1]) + (2 * day.vote_hash(title, changes, 2) - 1) * spread
    return [fields[0], f"{min(10.0, max(1.0, average)):.1f}", str(votes)]


def _edit_rng(day: Day, index: int, edited: int, purpose: str) -> random.Random:
    return random.Random(day.edit_seed(index, edited, purpose))


# --------------------------------------------------------------------------- one function per file


def _name_basics(plan: GeneratorPlan, lines: Iterable[str]) -> Iterator[str]:
    day = plan.day
    for line in lines:
        f = _fields(line)
        person = _index(f[0])
        if day.name_removed(person):
            continue
        edited = day.name_edit(person)
        known = _without_removed_titles(day, f[5], "name.basics")
        if not edited and known == f[5]:
            yield line
            continue
        if edited:
            f[1] = _other_name(f[1], _edit_rng(day, person, edited, "name-edit"))
        f[5] = known
        yield _line(f)


def _title_basics(plan: GeneratorPlan, lines: Iterable[str]) -> Iterator[str]:
    day = plan.day
    for line in lines:
        f = _fields(line)
        title = _index(f[0])
        if day.title_removed(title):
            continue
        edited = day.title_edit(title)
        if not edited:
            yield line
            continue
        rng = _edit_rng(day, title, edited, "title-edit")
        f[8] = _other_genres(f[8], rng)
        if rng.random() < RETITLE_SHARE:
            f[2] = _other_title(f[2], rng)
        yield _line(f)


def _keyed_by_title(dataset: str) -> Churn:
    """A file whose rows only change by going with their title (akas, episodes)."""

    def churn(plan: GeneratorPlan, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            if not _title_rows_go(plan.day, _index(line[: line.index("\t")]), dataset):
                yield line

    return churn


def _title_crew(plan: GeneratorPlan, lines: Iterable[str]) -> Iterator[str]:
    day = plan.day
    for line in lines:
        f = _fields(line)
        title = _index(f[0])
        if day.title_removed(title):
            if not day.left_behind(title, "title.crew"):
                continue
            yield line  # a forgotten row stays as it was
            continue
        directors = _merged_people(day, f[1], "title.crew")
        writers = _merged_people(day, f[2], "title.crew")
        yield line if (directors, writers) == (f[1], f[2]) else _line([f[0], directors, writers])


def _title_principals(plan: GeneratorPlan, lines: Iterable[str]) -> Iterator[str]:
    """A title's principals are consecutive rows: they are changed together (re-billing)."""
    group: list[str] = []
    for line in lines:
        if group and not line.startswith(group[0][: group[0].index("\t") + 1]):
            yield from _principals_of(plan.day, group)
            group = []
        group.append(line)
    if group:
        yield from _principals_of(plan.day, group)


def _principals_of(day: Day, lines: list[str]) -> Iterator[str]:
    rows = [_fields(line) for line in lines]
    title = _index(rows[0][0])
    if day.title_removed(title):
        if day.left_behind(title, "title.principals"):
            yield from lines
        return
    for f in rows:
        f[2] = _merged_person(day, f[2], "title.principals")
    edited = day.billing_edit(title)
    if edited:
        rows = _rebilled(rows, _edit_rng(day, title, edited, "billing"))
    for line, f in zip(lines, rows, strict=True):
        new = _line(f)
        yield line if new == line else new


def _title_ratings(plan: GeneratorPlan, lines: Iterable[str]) -> Iterator[str]:
    day = plan.day
    for line in lines:
        f = _fields(line)
        title = _index(f[0])
        if day.title_removed(title):
            if day.left_behind(title, "title.ratings"):
                yield line
            continue
        popularity = plan.popularity(title)
        changes = day.rating_changes(title, popularity)
        yield _line(_rating_on_day(day, title, popularity, f, changes)) if changes else line


_CHURN: dict[str, Churn] = {
    "name.basics": _name_basics,
    "title.basics": _title_basics,
    "title.akas": _keyed_by_title("title.akas"),
    "title.crew": _title_crew,
    "title.episode": _keyed_by_title("title.episode"),
    "title.principals": _title_principals,
    "title.ratings": _title_ratings,
}
