"""Synthetic IMDb datasets: the seven ``.tsv.gz`` files, with the real headers and quirks.

Design, so the output can be trusted by tests and benchmarks:

* Deterministic. Every file has its own ``random.Random`` seeded from (seed, dataset), and
  every fact another file must agree on (a title's type, popularity and text) is a pure
  hash of (seed, title index). The same seed and scale give byte-identical files, whether
  the files are written one after another or in parallel processes.
* Constant memory. Rows are streamed in batches; ids are ``tt``/``nm`` + index, so
  cross-file references are arithmetic and need no lookup tables.
* Realistic shapes. Scale 1.0 gives about the real row counts from the registry; the
  title type mix, popularity (votes, principals, akas) follows a power law; text is
  drawn from many scripts.
* The quirks of the real files sit at fixed rows near the top of each file (see
  ``QUIRKS``), so they exist at any scale. Tests must still find them by reading files.
* Dirt (duplicate keys, dangling references) appears at ``dirty_rate`` plus at one fixed
  row per file; ``dirty_rate=0`` (``--clean``) produces none, for exact round trips.
* Days. ``day`` N > 0 writes the files N days later: the same rows from the same streams,
  plus the ids added since, then the day's churn (``imdb_devkit.days`` says what changes,
  ``imdb_devkit.churn`` applies it). Day 0, the default, is what this always wrote.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import math
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from imdb_devkit import churn
from imdb_devkit.days import DEFAULT_CHANGES, Day, DayChanges
from imdb_devkit.hashing import mix64, salt, unit
from imdb_devkit.vocabulary import (
    AKA_ATTRIBUTES,
    AKA_REGIONS,
    AKA_TYPES,
    CHARACTERS,
    FIRST_NAMES,
    LAST_NAMES,
    NON_ISO_REGIONS,
    NULL,
    OTHER_TITLE_TYPES,
    PRINCIPAL_CATEGORIES,
    PRODUCER_JOBS,
    PROFESSIONS,
    WORDS_LATIN,
    WORDS_OTHER_SCRIPTS,
    WRITER_JOBS,
    draw_genres,
    nconst,
    tconst,
)
from imdb_loader import datasets as registry

AKAS_SEP = registry.AKAS_LIST_SEPARATOR
DEFAULT_DIRTY_RATE = 0.001
DEFAULT_COMPRESSLEVEL = 1
MIN_TITLES = 200
"""Floor on titles and names so every fixed-position quirk fits, even at tiny scales."""
MIN_NAMES = 200
MAX_PRINCIPALS = 10
"""IMDb caps title.principals at ten rows per title."""
MAX_AKAS = 250
SERIES_STRIDE = 33
"""Every 33rd title is a series, so an episode finds a parent arithmetically (~3% of titles)."""
NEW_PEOPLE_CREDITS = 0.3
"""Share of a new title's credits, and of a new person's known-for titles, that go to newcomers."""
BATCH_ROWS = 20_000


# --------------------------------------------------------------------------- the quirk catalog


@dataclass(frozen=True)
class Quirk:
    dataset: str
    column: str
    description: str
    value: str | None
    """The exact field text as written to the file; None when the quirk is a shape (a long list)."""


# Title text, by title index: shared by title.basics (primary/original) and title.akas.
_TITLE_QUIRKS: dict[int, str] = {
    1: 'The "Great" Escape',
    2: "Don't Say \"Yes",
    3: '"Weird" Beginnings',
    4: '"',
    5: "C:\\Users\\x",
    6: "Ends With Backslash\\",
    7: "Back\\.Slash",
    8: "\\n",
    9: "\\Nothing Else",
    10: "Tab\\tLiteral",
    11: "Amélie — Война и мир — 千と千尋 — وجدة — ואלס — शोले — ฟ้า — Ζορμπάς — 🎬",
    12: "Zero\u200bwidth and combining e\u0301",
}
_START_YEAR_QUIRKS: dict[int, str] = {13: "874", 14: "0"}
_NAME_QUIRKS: dict[int, tuple[str, str, str]] = {  # name index -> (primaryName, birthYear, deathYear)
    1: ('"Weird Al" Yankovic', "1959", NULL),
    2: ('Dwayne "The Rock" Johnson', "1972", NULL),
    3: ("Lucius Annaeus Seneca", "4", "65"),
    4: ("Björk Guðmundsdóttir", "1965", NULL),
    5: ("黒澤 明", "1910", "1998"),
}
_EMPTY_PROFESSION_NAME = 6
_PRINCIPAL_CHARACTER_QUIRKS: dict[int, str] = {  # principals row -> characters
    0: '["The \\"Boss\\""]',
    1: '["C:\\\\Users\\\\x"]',
    2: '["Анна","李小龙","🎭"]',
}
_AKA_QUIRKS: dict[int, dict[str, str]] = {  # akas row -> field overrides
    1: {"types": f"alternative{AKAS_SEP}tv", "attributes": f"literal English title{AKAS_SEP}informal title"},
    2: {"region": "XWW", "isOriginalTitle": NULL},
    3: {"region": "XEU"},
    4: {"region": "SUHH"},
    5: {"region": "CSHH"},
    6: {"region": "XYU"},
    7: {"region": "DDDE"},
    8: {"title": "", "language": ""},
    9: {"title": 'Unbalanced "quote', "types": f"imdbDisplay{AKAS_SEP}working{AKAS_SEP}festival"},
}
_EPISODE_SEASON_YEAR_ROW = 1
_CREW_LONG_DIRECTORS_ROW = 3
_CREW_LONG_WRITERS_ROW = 4
_CREW_LONG_DIRECTORS = 520
_CREW_LONG_WRITERS = 600
_RATING_QUIRKS: dict[int, str] = {0: "10.0", 1: "1.0"}
_DIRTY_DUPLICATE_ROW = 5
_DIRTY_DANGLING_ROW = 6

QUIRKS: tuple[Quirk, ...] = (
    *(Quirk("title.basics", "primaryTitle", "title text quirk", t) for t in _TITLE_QUIRKS.values()),
    *(Quirk("title.basics", "startYear", "year below 1000", y) for y in _START_YEAR_QUIRKS.values()),
    *(Quirk("name.basics", "primaryName", "name quirk", n[0]) for n in _NAME_QUIRKS.values()),
    Quirk("name.basics", "birthYear", "year below 1000", "4"),
    Quirk("name.basics", "primaryProfession", "empty string, not NULL", ""),
    *(Quirk("title.principals", "characters", "JSON with escapes", c)
      for c in _PRINCIPAL_CHARACTER_QUIRKS.values()),
    *(Quirk("title.akas", "region", "non-ISO region code", r) for r in NON_ISO_REGIONS),
    Quirk("title.akas", "types", "several \\x02-separated values", _AKA_QUIRKS[1]["types"]),
    Quirk("title.akas", "attributes", "several \\x02-separated values", _AKA_QUIRKS[1]["attributes"]),
    Quirk("title.akas", "isOriginalTitle", "NULL boolean", NULL),
    Quirk("title.akas", "title", "empty string, not NULL", ""),
    Quirk("title.episode", "seasonNumber", "season number that looks like a year", "2019"),
    Quirk("title.crew", "directors", f"a list of {_CREW_LONG_DIRECTORS} ids", None),
    Quirk("title.crew", "writers", f"a list of {_CREW_LONG_WRITERS} ids", None),
    Quirk("title.ratings", "averageRating", "extremes", "10.0"),
    Quirk("title.ratings", "averageRating", "extremes", "1.0"),
)  # fmt: skip


# --------------------------------------------------------------------------- the shared model


@dataclass(frozen=True)
class Plan:
    """Sizes and per-title facts every file agrees on. Pure functions of (seed, scale, day).

    ``titles`` and ``names`` are day 0's counts; the ids added since are ``day``'s.
    """

    seed: int
    scale: float
    dirty_rate: float
    titles: int
    names: int
    salt_type: int
    salt_pop: int
    salt_text: int
    salt_rated: int
    episode_share: float
    other_type_cdf: tuple[tuple[float, str], ...]
    rated_share: float
    day: Day

    @classmethod
    def make(
        cls, seed: int, scale: float, dirty_rate: float, day: int = 0, changes: DayChanges = DEFAULT_CHANGES
    ) -> Plan:
        if not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        if not 0 <= dirty_rate < 1:
            raise ValueError(f"dirty rate must be in [0, 1), got {dirty_rate!r}")
        basics = registry.BY_NAME["title.basics"].rows_at_scale_1
        # Episodes are a fixed share of non-series titles, so title.episode lands on its registry size.
        non_series = 1 - 1 / SERIES_STRIDE
        episode_share = registry.BY_NAME["title.episode"].rows_at_scale_1 / basics / non_series
        total = sum(w for _, w in OTHER_TITLE_TYPES)
        cdf, acc = [], episode_share
        for name, weight in OTHER_TITLE_TYPES:
            acc += (1 - episode_share) * weight / total
            cdf.append((acc, name))
        titles = max(MIN_TITLES, round(scale * basics))
        names = max(MIN_NAMES, round(scale * registry.BY_NAME["name.basics"].rows_at_scale_1))
        return cls(
            seed=seed,
            scale=scale,
            dirty_rate=dirty_rate,
            titles=titles,
            names=names,
            salt_type=salt(seed, "type"),
            salt_pop=salt(seed, "popularity"),
            salt_text=salt(seed, "text"),
            salt_rated=salt(seed, "rated"),
            episode_share=episode_share,
            other_type_cdf=tuple(cdf),
            rated_share=registry.BY_NAME["title.ratings"].rows_at_scale_1 / basics,
            day=Day.make(
                seed,
                day,
                changes,
                dirty=dirty_rate > 0,
                base_titles=titles,
                base_names=names,
                protected_titles=MIN_TITLES,
                protected_names=MIN_NAMES,
                series_stride=SERIES_STRIDE,
            ),
        )

    def title_indexes(self) -> Iterator[int]:
        """Day 0's titles, then those added since: removed ones too, so that a file's random
        stream, and with it every row, is the same whatever the day (churn drops them later)."""
        return itertools.chain(range(self.titles), self.day.new_title_indexes())

    def name_indexes(self) -> Iterator[int]:
        return itertools.chain(range(self.names), self.day.new_name_indexes())

    def title_type(self, index: int) -> str:
        if index % SERIES_STRIDE == 0:
            return "tvMiniSeries" if (index // SERIES_STRIDE) % 5 == 4 else "tvSeries"
        u = unit(index, self.salt_type)
        if u < self.episode_share:
            return "tvEpisode"
        for bound, name in self.other_type_cdf:
            if u < bound:
                return name
        return self.other_type_cdf[-1][1]

    def popularity(self, index: int) -> float:
        """In (0, 1]; small means popular (many votes, principals and akas)."""
        return 1.0 - unit(index, self.salt_pop)

    def is_rated(self, index: int) -> bool:
        return unit(index, self.salt_rated) < self.rated_share

    def title_text(self, index: int, title_type: str) -> str:
        if index in _TITLE_QUIRKS:
            return _TITLE_QUIRKS[index]
        h = mix64(index ^ self.salt_text)
        if title_type == "tvEpisode" and h & 1:
            return f"Episode #{1 + (h >> 1) % 12}.{1 + (h >> 5) % 24}"
        first = WORDS_LATIN[(h >> 10) % len(WORDS_LATIN)]
        second = WORDS_LATIN[(h >> 20) % len(WORDS_LATIN)]
        if (h >> 30) % 5 == 0:
            second = WORDS_OTHER_SCRIPTS[(h >> 33) % len(WORDS_OTHER_SCRIPTS)]
        if (h >> 40) % 3 == 0:
            return f"The {first} of {second}"
        return f"{first} {second} {1 + (h >> 44) % 99}" if (h >> 50) % 4 == 0 else f"{first} {second}"

    def series_parent(self, index: int, rng: random.Random) -> int:
        """A series index at or before ``index``: mostly a nearby one, sometimes a long runner."""
        series_slots = index // SERIES_STRIDE
        if rng.random() < 0.5:
            slot = max(0, series_slots - int(rng.random() * 3))
        else:
            slot = int(series_slots * rng.random() ** 3)
        return slot * SERIES_STRIDE

    def zipf_name(self, rng: random.Random) -> int:
        """A name index; low indexes are the busy people."""
        return int(self.names * rng.random() ** 2.5)

    def credit_picker(self, title: int) -> Callable[[random.Random], int]:
        """How a title picks the people it credits: day 0's titles from day 0's people; a new
        title also from the people added by the day it appeared."""
        if title < self.titles:
            return self.zipf_name
        newcomers = self.day.names.count(self.day.title_birth(title) or 0)

        def pick(rng: random.Random) -> int:
            if newcomers and rng.random() < NEW_PEOPLE_CREDITS:
                return self.day.names.first + int(newcomers * rng.random())
            return self.zipf_name(rng)

        return pick

    def known_for(self, name: int, rng: random.Random) -> int:
        """A title index a person is known for; a new person's may be a title of their day or before."""
        if name >= self.names:
            newcomers = self.day.titles.count(self.day.name_birth(name) or 0)
            if newcomers and rng.random() < NEW_PEOPLE_CREDITS:
                return self.day.titles.first + int(newcomers * rng.random())
        return int(self.titles * rng.random())

    def episode_parent(self, index: int, rng: random.Random) -> int:
        """A series for an episode: nearby or a long runner; a new episode's may be a new series."""
        if index < self.titles:
            return self.series_parent(index, rng)
        first_new_slot = -(-self.day.titles.first // SERIES_STRIDE)
        last_slot = index // SERIES_STRIDE
        if last_slot >= first_new_slot and rng.random() < 0.5:
            return max(first_new_slot, last_slot - int(rng.random() * 3)) * SERIES_STRIDE
        return self.series_parent(self.titles - 1, rng)

    def dangling_title(self, rng: random.Random) -> str:
        return tconst(self.titles + 1 + int(rng.random() * self.titles))

    def dangling_name(self, rng: random.Random) -> str:
        return nconst(self.names + 1 + int(rng.random() * self.names))


# --------------------------------------------------------------------------- row generators


@dataclass
class Stats:
    rows: int = 0
    duplicate_rows: int = 0
    dangling_refs: int = 0


class _Dirt:
    """Where a file gets its duplicate rows and dangling references."""

    def __init__(self, plan: Plan, rng: random.Random) -> None:
        self.rate = plan.dirty_rate
        self.rng = rng

    def duplicate(self, row: int) -> bool:
        return self.rate > 0 and (row == _DIRTY_DUPLICATE_ROW or self.rng.random() < self.rate)

    def dangle(self, row: int) -> bool:
        return self.rate > 0 and (row == _DIRTY_DANGLING_ROW or self.rng.random() < self.rate)


def _year(rng: random.Random, low: int, high: int) -> int:
    # Skewed to recent years, as the catalogue grows every year.
    return high - int((high - low) * rng.random() ** 2.2)


def _name_basics(plan: Plan, rng: random.Random, stats: Stats) -> Iterator[str]:
    dirt = _Dirt(plan, rng)
    r = rng.random
    for j in plan.name_indexes():
        if j in _NAME_QUIRKS:
            name, birth, death = _NAME_QUIRKS[j]
        else:
            name = f"{FIRST_NAMES[int(r() * len(FIRST_NAMES))]} {LAST_NAMES[int(r() * len(LAST_NAMES))]}"
            birth = death = NULL
            if r() < 0.15:
                b = _year(rng, 1850, 2015)
                birth = str(b)
                if b < 1955 and r() < 0.6:
                    death = str(min(2026, b + 30 + int(r() * 60)))
        if j == _EMPTY_PROFESSION_NAME or r() < 0.06:
            professions = ""
        else:
            professions = ",".join(
                dict.fromkeys(PROFESSIONS[int(r() ** 1.5 * len(PROFESSIONS))] for _ in range(1 + int(r() * 3)))
            )
        if r() < 0.12:
            known = NULL
        else:
            ids = [tconst(plan.known_for(j, rng)) for _ in range(1 + int(r() * 4))]
            if dirt.dangle(j):
                ids[0] = plan.dangling_title(rng)
                stats.dangling_refs += 1
            known = ",".join(ids)
        line = f"{nconst(j)}\t{name}\t{birth}\t{death}\t{professions}\t{known}\n"
        yield line
        if dirt.duplicate(j):
            stats.duplicate_rows += 1
            yield line


_RUNTIME_MEAN = {"movie": 95, "tvMovie": 88, "short": 12, "tvEpisode": 30, "tvSeries": 45, "video": 40}


def _title_basics(plan: Plan, rng: random.Random, stats: Stats) -> Iterator[str]:
    dirt = _Dirt(plan, rng)
    r = rng.random
    for i in plan.title_indexes():
        ttype = plan.title_type(i)
        primary = plan.title_text(i, ttype)
        original = primary
        if i not in _TITLE_QUIRKS and r() < 0.08:
            original = WORDS_OTHER_SCRIPTS[int(r() * len(WORDS_OTHER_SCRIPTS))]
        is_adult = "1" if r() < 0.02 else "0"
        start = _START_YEAR_QUIRKS.get(i) or (NULL if r() < 0.1 else str(_year(rng, 1890, 2026)))
        end = NULL
        if ttype in ("tvSeries", "tvMiniSeries") and start != NULL and r() < 0.6:
            end = str(min(2030, int(start) + int(r() * 12)))
        runtime = NULL
        if r() < 0.35:
            runtime = str(max(1, int(_RUNTIME_MEAN.get(ttype, 25) * (0.4 + 1.2 * r()))))
        genres = draw_genres(rng)
        line = f"{tconst(i)}\t{ttype}\t{primary}\t{original}\t{is_adult}\t{start}\t{end}\t{runtime}\t{genres}\n"
        yield line
        if dirt.duplicate(i):
            stats.duplicate_rows += 1
            yield line


def _akas_count(plan: Plan, index: int) -> int:
    # Mean ~4.5 (the registry's akas/titles); popular titles are known under many names.
    return min(MAX_AKAS, 1 + int(4.0 * (plan.popularity(index) ** -0.5 - 1)))


def _aka_fields(rng: random.Random, ordering: int, original: str) -> dict[str, str]:
    r = rng.random
    if ordering == 1:
        return {"title": original, "region": NULL, "language": NULL, "types": "original",
                "attributes": NULL, "isOriginalTitle": "1"}  # fmt: skip
    region, language, pool = AKA_REGIONS[int(r() ** 1.5 * len(AKA_REGIONS))]
    title = original if r() < 0.4 else f"{pool[int(r() * len(pool))]} {pool[int(r() * len(pool))]}"
    u = r()
    types = NULL if u < 0.6 else "imdbDisplay" if u < 0.9 else AKA_TYPES[int(r() * len(AKA_TYPES))]
    attributes = NULL if r() < 0.93 else AKA_ATTRIBUTES[int(r() * len(AKA_ATTRIBUTES))]
    return {"title": title, "region": region, "language": language if r() < 0.3 else NULL,
            "types": types, "attributes": attributes, "isOriginalTitle": "0"}  # fmt: skip


def _title_akas(plan: Plan, rng: random.Random, stats: Stats) -> Iterator[str]:
    dirt = _Dirt(plan, rng)
    row = 0
    for i in plan.title_indexes():
        original = plan.title_text(i, plan.title_type(i))
        title_id = tconst(i)
        for ordering in range(1, _akas_count(plan, i) + 1):
            f = _aka_fields(rng, ordering, original)
            if row in _AKA_QUIRKS:
                f.update(_AKA_QUIRKS[row])
            ref = title_id
            if dirt.dangle(row):
                ref = plan.dangling_title(rng)
                stats.dangling_refs += 1
            line = (
                f"{ref}\t{ordering}\t{f['title']}\t{f['region']}\t{f['language']}\t{f['types']}\t"
                f"{f['attributes']}\t{f['isOriginalTitle']}\n"
            )
            yield line
            if dirt.duplicate(row):
                stats.duplicate_rows += 1
                yield line
            row += 1


def _people(pick: Callable[[random.Random], int], rng: random.Random, count: int) -> str:
    return ",".join(nconst(pick(rng)) for _ in range(count))


def _title_crew(plan: Plan, rng: random.Random, stats: Stats) -> Iterator[str]:
    dirt = _Dirt(plan, rng)
    r = rng.random
    for i in plan.title_indexes():
        u = r()
        n_directors = 0 if u < 0.1 else 1 if u < 0.9 else 2 + int(r() * 3)
        n_writers = int(r() ** 1.5 * 5)
        if i == _CREW_LONG_DIRECTORS_ROW:
            n_directors = _CREW_LONG_DIRECTORS
        if i == _CREW_LONG_WRITERS_ROW:
            n_writers = _CREW_LONG_WRITERS
        pick = plan.credit_picker(i)
        directors = _people(pick, rng, n_directors) if n_directors else NULL
        writers = _people(pick, rng, n_writers) if n_writers else NULL
        if dirt.dangle(i):
            directors = plan.dangling_name(rng)
            stats.dangling_refs += 1
        line = f"{tconst(i)}\t{directors}\t{writers}\n"
        yield line
        if dirt.duplicate(i):
            stats.duplicate_rows += 1
            yield line


def _title_episode(plan: Plan, rng: random.Random, stats: Stats) -> Iterator[str]:
    dirt = _Dirt(plan, rng)
    r = rng.random
    row = 0
    for i in plan.title_indexes():
        if plan.title_type(i) != "tvEpisode":
            continue
        parent = tconst(plan.episode_parent(i, rng))
        if dirt.dangle(row):
            parent = plan.dangling_title(rng)
            stats.dangling_refs += 1
        if row == _EPISODE_SEASON_YEAR_ROW:
            season, episode = "2019", "1"
        elif r() < 0.2:
            season, episode = NULL, NULL
        else:
            season, episode = str(1 + int(r() ** 3 * 30)), str(1 + int(r() ** 2 * 60))
        line = f"{tconst(i)}\t{parent}\t{season}\t{episode}\n"
        yield line
        if dirt.duplicate(row):
            stats.duplicate_rows += 1
            yield line
        row += 1


def _principals_count(plan: Plan, index: int) -> int:
    # Mean ~8 (the registry's principals/titles); popular titles fill all ten slots.
    return MAX_PRINCIPALS - int(10 * plan.popularity(index) ** 3)


def _principal(rng: random.Random, ordering: int) -> tuple[str, str, str]:
    """(category, job, characters) for one principal; actors come first, as IMDb bills them."""
    r = rng.random
    if ordering <= 4 or r() < 0.3:
        u = r()
        category = "actor" if u < 0.45 else "actress" if u < 0.85 else "self"
    else:
        category = PRINCIPAL_CATEGORIES[3 + int(r() ** 1.4 * (len(PRINCIPAL_CATEGORIES) - 3))]
    job, characters = NULL, NULL
    if category in ("actor", "actress", "self"):
        first = CHARACTERS[int(r() * len(CHARACTERS))]
        characters = f'["{first}"]' if r() < 0.85 else f'["{first}","{CHARACTERS[int(r() * len(CHARACTERS))]}"]'
        if r() < 0.1:
            characters = NULL
    elif category == "writer" and r() < 0.7:
        job = WRITER_JOBS[int(r() * len(WRITER_JOBS))]
    elif category == "producer":
        job = PRODUCER_JOBS[int(r() * len(PRODUCER_JOBS))]
    return category, job, characters


def _title_principals(plan: Plan, rng: random.Random, stats: Stats) -> Iterator[str]:
    dirt = _Dirt(plan, rng)
    row = 0
    for i in plan.title_indexes():
        title_id = tconst(i)
        pick = plan.credit_picker(i)
        for ordering in range(1, _principals_count(plan, i) + 1):
            category, job, characters = _principal(rng, ordering)
            characters = _PRINCIPAL_CHARACTER_QUIRKS.get(row, characters)
            person = nconst(pick(rng))
            if dirt.dangle(row):
                person = plan.dangling_name(rng)
                stats.dangling_refs += 1
            line = f"{title_id}\t{ordering}\t{person}\t{category}\t{job}\t{characters}\n"
            yield line
            if dirt.duplicate(row):
                stats.duplicate_rows += 1
                yield line
            row += 1


def _title_ratings(plan: Plan, rng: random.Random, stats: Stats) -> Iterator[str]:
    dirt = _Dirt(plan, rng)
    row = 0
    for i in plan.title_indexes():
        if not plan.is_rated(i):
            continue
        rating = _RATING_QUIRKS.get(row) or f"{min(10.0, max(1.0, rng.gauss(6.6, 1.3))):.1f}"
        # Pareto tail: most titles have a handful of votes, a few have millions.
        votes = min(3_200_000, int(5 * plan.popularity(i) ** -1.25))
        ref = tconst(i)
        if dirt.dangle(row):
            ref = plan.dangling_title(rng)
            stats.dangling_refs += 1
        line = f"{ref}\t{rating}\t{votes}\n"
        yield line
        if dirt.duplicate(row):
            stats.duplicate_rows += 1
            yield line
        row += 1


_GENERATORS: dict[str, Callable[[Plan, random.Random, Stats], Iterator[str]]] = {
    "name.basics": _name_basics,
    "title.basics": _title_basics,
    "title.akas": _title_akas,
    "title.crew": _title_crew,
    "title.episode": _title_episode,
    "title.principals": _title_principals,
    "title.ratings": _title_ratings,
}
assert set(_GENERATORS) == set(registry.NAMES), "every registry dataset needs a generator"


# --------------------------------------------------------------------------- writing files


@dataclass(frozen=True)
class GeneratedFile:
    dataset: str
    path: Path
    rows: int
    """Data rows written, header excluded, duplicates included."""
    bytes: int
    """Size of the .tsv.gz."""
    duplicate_rows: int
    dangling_refs: int
    plain_path: Path | None = None
    plain_bytes: int | None = None


@dataclass(frozen=True)
class _Job:
    dataset: str
    out_dir: Path
    plan: Plan
    also_plain: bool
    compresslevel: int = DEFAULT_COMPRESSLEVEL


@contextlib.contextmanager
def deterministic_gzip(path: Path, compresslevel: int = DEFAULT_COMPRESSLEVEL) -> Iterator[gzip.GzipFile]:
    """A gzip writer whose bytes depend only on the content: mtime 0 and no file name."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=compresslevel, fileobj=raw, mtime=0) as gz,
    ):
        yield gz


def publish(staging: Path, target: Path) -> None:
    """Rename ``staging`` over ``target`` as IMDb's daily refresh replaces a file.

    Atomic, so a reader never sees half a file, and the file gets a new inode (so a new
    ETag from the local server). Its mtime is set at least one second past the old file's,
    so ``Last-Modified`` (one-second resolution) moves on too, even within the same second.
    """
    with contextlib.suppress(FileNotFoundError):
        later = max(time.time(), int(target.stat().st_mtime) + 1.0)
        os.utime(staging, (later, later))
    os.replace(staging, target)


def _rows(plan: Plan, dataset: str, rng: random.Random, stats: Stats) -> Iterator[str]:
    """The dataset's lines on the plan's day, counting duplicates and dangling references in ``stats``."""
    if plan.day.number == 0:
        return _GENERATORS[dataset](plan, rng, stats)  # day 0: what the generator always wrote
    # Day 0's rows (and the new ones) come first; the churn drops, edits and recounts them.
    return churn.on_day(plan, dataset, _GENERATORS[dataset](plan, rng, Stats()), stats)


def _write_one(job: _Job) -> GeneratedFile:
    ds = registry.BY_NAME[job.dataset]
    rng = random.Random(f"{job.plan.seed}:{job.dataset}")
    stats = Stats()
    gz_path = job.out_dir / ds.file_name
    plain_path = job.out_dir / f"{ds.name}.tsv" if job.also_plain else None
    # Written under a temporary name and published (renamed), so a reader (or the test
    # server) never sees half a file, and a replaced file gets a new ETag and Last-Modified.
    tmp_gz = gz_path.with_name(gz_path.name + ".part")
    tmp_plain = plain_path.with_name(plain_path.name + ".part") if plain_path else None
    with contextlib.ExitStack() as stack:
        writers: list[Callable[[bytes], object]] = [
            stack.enter_context(deterministic_gzip(tmp_gz, job.compresslevel)).write
        ]
        if tmp_plain is not None:
            writers.append(stack.enter_context(open(tmp_plain, "wb", buffering=1 << 20)).write)

        def emit(text: str) -> None:
            data = text.encode("utf-8")
            for write in writers:
                write(data)

        emit("\t".join(ds.header) + "\n")
        batch: list[str] = []
        for line in _rows(job.plan, ds.name, rng, stats):
            batch.append(line)
            if len(batch) >= BATCH_ROWS:
                stats.rows += len(batch)
                emit("".join(batch))
                batch.clear()
        stats.rows += len(batch)
        emit("".join(batch))
    publish(tmp_gz, gz_path)
    if tmp_plain is not None and plain_path is not None:
        publish(tmp_plain, plain_path)
    return GeneratedFile(
        dataset=ds.name,
        path=gz_path,
        rows=stats.rows,
        bytes=gz_path.stat().st_size,
        duplicate_rows=stats.duplicate_rows,
        dangling_refs=stats.dangling_refs,
        plain_path=plain_path,
        plain_bytes=plain_path.stat().st_size if plain_path else None,
    )


def expected_rows(dataset: str, scale: float) -> int:
    """About how many rows ``generate`` writes for a dataset at a scale."""
    return round(registry.BY_NAME[dataset].rows_at_scale_1 * scale)


def generate(
    out_dir: Path | str,
    scale: float,
    seed: int = 0,
    *,
    clean: bool = False,
    dirty_rate: float = DEFAULT_DIRTY_RATE,
    jobs: int = 1,
    also_plain: bool = False,
    datasets: tuple[str, ...] | list[str] | None = None,
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    day: int = 0,
    changes: DayChanges = DEFAULT_CHANGES,
) -> dict[str, GeneratedFile]:
    """Write the synthetic ``<dataset>.tsv.gz`` files into ``out_dir``; returns what was written.

    ``clean=True`` (same as ``dirty_rate=0``) writes no duplicate keys and no dangling
    references. ``jobs`` > 1 writes files in parallel processes; the bytes do not change.
    ``day`` N > 0 writes the files as they are N days later, after ``changes`` a day (see
    ``imdb_devkit.days``): same seed and scale, same ids; day 0 is what this has always written.
    Written over the files of another day, each file gets a new ETag and Last-Modified.
    """
    plan = Plan.make(seed, scale, 0.0 if clean else dirty_rate, day, changes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = [ds.name for ds in registry.resolve(list(datasets))] if datasets else list(registry.NAMES)
    # Biggest first, so parallel workers finish together.
    wanted.sort(key=lambda n: -registry.BY_NAME[n].rows_at_scale_1)
    work = [_Job(name, out, plan, also_plain, compresslevel) for name in wanted]
    if jobs <= 1 or len(work) == 1:
        results = [_write_one(job) for job in work]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=ctx) as pool:
            results = list(pool.map(_write_one, work))
    by_name = {r.dataset: r for r in results}
    return {name: by_name[name] for name in registry.NAMES if name in by_name}
