"""Days of the synthetic IMDb: what has changed by day N, as pure functions of (seed, scale, day).

IMDb republishes its seven files every day. Day 0 is what the generator has always written;
day N is day 0 after N days of churn, and it is produced directly from (seed, scale, day),
never from the files of day N-1, so any day can be written alone, in constant memory:

* **Ratings** (``ratings``): votes keep arriving, so a large share of rated titles has a new
  ``numVotes`` (and sometimes a new ``averageRating``) every day. Popular titles change
  almost daily, obscure ones rarely; the mean over rated titles is ``ratings``. Votes
  mostly grow (now and then IMDb discards some).
* **New titles and people** (``new_titles``, ``new_names``): so many a day, as a share of
  day 0's count. Their ids continue past the range that dirty files use for dangling
  references (``tt``/``nm`` + index from twice day 0's count), so a new id never resolves an
  old dangling one. A new title gets its rows in every file as any title does (basics and
  crew, akas, maybe principals, ratings, an episode row); its credits and a new person's
  known-for titles partly point at the other newcomers of their day or before.
* **Removals** (``removed_titles``, ``removed_names``): the chance per day that a title or
  person goes. A removed title's rows go from every file (akas, crew, episode, principals,
  ratings) and from ``knownForTitles``. A removed person is merged into another entry: the
  name.basics row goes and their credits (principals, crew) move to that entry. In dirty
  files IMDb is modelled as sometimes forgetting to clean up (``left_dangling``): a removed
  title's rows or a removed person's credits stay in one file, as dangling references.
  Series are never removed (their episodes would lose their parent).
* **Edits** (``title_edits``, ``name_edits``, ``billing_edits``): the chance per day that a
  title's genres (now and then its primaryTitle), a person's primaryName, or a title's
  billing (principals swap places or one changes category) is edited. An edit holds until
  the next one.

Whether and when an entity changes is a hash of (seed, purpose, index): it is removed once
its hash falls below the chance of a removal within its days so far (which only grows, so a
removal is for good); its edits fall at a sequence of hashed gaps; its rating changes are a
closed-form count. So day N+1 is day N plus one more day of changes, and unchanged rows
keep their ids and their bytes. The first ``MIN_TITLES`` titles and ``MIN_NAMES`` people,
where the catalogued quirks live, are never removed or edited, so the quirks are in every
day's files.

Where the defaults come from. They are estimates reasoned from public facts, not
measurements of IMDb's files. IMDb lists about 12 M titles and 15 M people (the registry's
row counts) and adds on the order of thousands of titles a day: ``new_titles`` 0.00025 of
12.3 M is about 3,000 a day, ``new_names`` 0.0002 of 15.1 M about 3,000. We take removals to
be far rarer than additions, a few hundred a day (``removed_titles`` 0.00002,
``removed_names`` 0.00001). About 1.6 M titles are rated and votes accrue every day, mostly
on popular and recent titles, so we take 30% of the rated titles to change a day. Edits are
taken as a small share, 0.05% a day (some thousands of titles and people). Measure the real
files' day-to-day differences before relying on any of these numbers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields

from imdb_devkit.hashing import mix64, salt, unit

VOTE_GROWTH_PER_DAY = 0.0003
"""New votes a day as a share of a title's votes (about 1,000 for a title with 3 M)."""
VOTE_DROP_SHARE = 0.02
"""Share of a title's rating changes where votes go down (IMDb discards some votes)."""
FEWEST_VOTES = 5
"""No rated title has fewer votes (the generator's smallest count)."""
_NEVER = 1 << 62
"""Days until an event that never happens."""


@dataclass(frozen=True)
class DayChanges:
    """How much changes a day, each a fraction in [0, 1]; see the module's docstring."""

    ratings: float = 0.30
    """Share of rated titles whose title.ratings row changes on a day."""
    new_titles: float = 0.00025
    """Titles added a day, as a share of day 0's titles."""
    new_names: float = 0.0002
    """People added a day, as a share of day 0's people."""
    removed_titles: float = 0.00002
    """Chance a title is removed on a day."""
    removed_names: float = 0.00001
    """Chance a person is removed (merged into another entry) on a day."""
    title_edits: float = 0.0005
    """Chance a title's genres (sometimes its primaryTitle) are edited on a day."""
    name_edits: float = 0.0005
    """Chance a person's primaryName is edited on a day."""
    billing_edits: float = 0.0005
    """Chance a title's principals are re-billed (two swap places, or one changes category) on a day."""
    left_dangling: float = 0.1
    """Dirty files only: chance that a file keeps a removed title's rows or a removed person's credits."""

    def __post_init__(self) -> None:
        for change in fields(self):
            value = getattr(self, change.name)
            if not _is_fraction(value):
                raise ValueError(f"day changes: {change.name} must be a fraction in [0, 1], got {value!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def parse(cls, text: str, base: DayChanges | None = None) -> DayChanges:
        """``"ratings=0.3,new_titles=0.001"``: these fractions, the others from ``base`` (the defaults)."""
        overrides: dict[str, float] = {}
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            name, sep, value = (s.strip() for s in item.partition("="))
            if not sep:
                raise ValueError(f"day changes: {item!r} is not NAME=FRACTION")
            if name not in cls.names():
                raise ValueError(f"day changes: unknown change {name!r}; expected one of: {', '.join(cls.names())}")
            try:
                overrides[name] = float(value)
            except ValueError:
                raise ValueError(f"day changes: {name} must be a fraction in [0, 1], got {value!r}") from None
        return dataclasses.replace(base or cls(), **overrides)


def _is_fraction(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and 0 <= value <= 1


DEFAULT_CHANGES = DayChanges()
NO_CHANGES = DayChanges(**dict.fromkeys(DayChanges.names(), 0.0))


def check_day(day: object) -> int:
    if not isinstance(day, int) or isinstance(day, bool) or day < 0:
        raise ValueError(f"day must be a whole number >= 0, got {day!r}")
    return day


# --------------------------------------------------------------------------- events in time


@dataclass(frozen=True)
class Growth:
    """Ids added after day 0: ``per_day`` a day (a float; the count is floored), numbered on
    from index ``first``. The k-th new id (k from 0) is born on the first day it is counted."""

    first: int
    per_day: float

    def count(self, day: int) -> int:
        return math.floor(day * self.per_day)

    def birth(self, k: int) -> int:
        """The day the k-th new id appears (its index is ``first + k``)."""
        day = max(1, math.ceil((k + 1) / self.per_day))
        # ceil() of a float quotient can be one off the floor() in count(); settle on count's word.
        while day > 1 and self.count(day - 1) > k:
            day -= 1
        while self.count(day) <= k:
            day += 1
        return day


def _gap(key: int, salt_: int, rate: float) -> int:
    """Days until an event that happens with chance ``rate`` a day (geometric, at least 1)."""
    if rate <= 0:
        return _NEVER
    if rate >= 1:
        return 1
    return 1 + int(math.log1p(-unit(key, salt_)) / math.log1p(-rate))


def happened_within(rate: float, span: int) -> float:
    """The chance that an event of ``rate`` a day happened at least once in ``span`` days.

    ``unit(key, salt) < happened_within(rate, span)`` says whether it did: grows with the
    span, so what has happened by day N has happened by day N+1 (a removal is for good).
    """
    return 0.0 if span <= 0 else 1.0 - (1.0 - rate) ** span


def last_event(key: int, salt_: int, rate: float, span: int) -> int:
    """The latest day (1..span after birth) on which ``key`` had the event; 0 if none.

    Events are a sequence of geometric gaps, each from its own hash, so the expected work is
    ``1 + rate * span``.
    """
    last, at, n = 0, 0, 0
    while True:
        at += _gap(key, mix64(salt_ + n), rate)
        if at > span:
            return last
        last, n = at, n + 1


# --------------------------------------------------------------------------- one day


@dataclass(frozen=True)
class Day:
    """What has changed by day ``number``; every answer is a pure function of (seed, index, day)."""

    number: int
    changes: DayChanges
    dirty: bool
    """Dirty files may keep references to removed entities (``left_dangling``); clean ones never."""
    base_titles: int
    base_names: int
    protected_titles: int
    """Titles below this index never change (the quirks live there)."""
    protected_names: int
    series_stride: int
    """Every title whose index is a multiple of this is a series: never removed."""
    titles: Growth
    names: Growth
    base_titles_gone: float
    """Chance that one of day 0's titles is removed by this day."""
    base_names_gone: float
    salts: dict[str, int] = field(hash=False)

    @classmethod
    def make(
        cls,
        seed: int,
        number: int,
        changes: DayChanges,
        *,
        dirty: bool,
        base_titles: int,
        base_names: int,
        protected_titles: int,
        protected_names: int,
        series_stride: int,
    ) -> Day:
        purposes = ("title-gone", "name-gone", "title-edit", "name-edit", "billing", "rating-phase", "votes", "left")
        return cls(
            number=check_day(number),
            changes=changes,
            dirty=dirty,
            base_titles=base_titles,
            base_names=base_names,
            protected_titles=protected_titles,
            protected_names=protected_names,
            series_stride=series_stride,
            # Past the dangling references of dirty files (index base+1 .. 2*base).
            titles=Growth(2 * base_titles + 1, changes.new_titles * base_titles),
            names=Growth(2 * base_names + 1, changes.new_names * base_names),
            base_titles_gone=happened_within(changes.removed_titles, number),
            base_names_gone=happened_within(changes.removed_names, number),
            salts={p: salt(seed, f"day:{p}") for p in purposes},
        )

    # ----------------------------------------------------------------- who exists

    def title_birth(self, index: int) -> int | None:
        """The day a title appeared (0 for day 0's), or None for an id in the dangling range."""
        return _birth(index, self.base_titles, self.titles)

    def name_birth(self, index: int) -> int | None:
        return _birth(index, self.base_names, self.names)

    def new_title_indexes(self) -> range:
        return range(self.titles.first, self.titles.first + self.titles.count(self.number))

    def new_name_indexes(self) -> range:
        return range(self.names.first, self.names.first + self.names.count(self.number))

    def title_removed(self, index: int) -> bool:
        """The title existed once and is gone by this day."""
        if index < self.protected_titles or index % self.series_stride == 0:
            return False
        if index < self.base_titles:  # the common case, with the chance worked out once
            return unit(index, self.salts["title-gone"]) < self.base_titles_gone
        born = self.title_birth(index)
        return born is not None and unit(index, self.salts["title-gone"]) < happened_within(
            self.changes.removed_titles, self.number - born
        )

    def name_removed(self, index: int) -> bool:
        if index < self.protected_names:
            return False
        if index < self.base_names:
            return unit(index, self.salts["name-gone"]) < self.base_names_gone
        born = self.name_birth(index)
        return born is not None and unit(index, self.salts["name-gone"]) < happened_within(
            self.changes.removed_names, self.number - born
        )

    def title_exists(self, index: int) -> bool:
        if index < self.base_titles:
            return not self.title_removed(index)
        born = self.title_birth(index)
        return born is not None and born <= self.number and not self.title_removed(index)

    def name_exists(self, index: int) -> bool:
        if index < self.base_names:
            return not self.name_removed(index)
        born = self.name_birth(index)
        return born is not None and born <= self.number and not self.name_removed(index)

    def left_behind(self, index: int, dataset: str) -> bool:
        """A dirty file keeps this removed entity's rows or references (``left_dangling``)."""
        if not self.dirty:
            return False
        return unit(index, self.salts["left"] ^ salt(0, dataset)) < self.changes.left_dangling

    def merged_into(self, name_index: int) -> int:
        """The entry a removed person was merged into: one that never goes (a protected one)."""
        return int(self.protected_names * unit(name_index, self.salts["name-gone"] ^ 1))

    # ----------------------------------------------------------------- edits

    def title_edit(self, index: int) -> int:
        """The day of the title's latest edit (genres, maybe primaryTitle); 0 if never edited."""
        if index < self.protected_titles:
            return 0
        return self._last(index, self.title_birth(index), "title-edit", self.changes.title_edits)

    def name_edit(self, index: int) -> int:
        if index < self.protected_names:
            return 0
        return self._last(index, self.name_birth(index), "name-edit", self.changes.name_edits)

    def billing_edit(self, index: int) -> int:
        if index < self.protected_titles:
            return 0
        return self._last(index, self.title_birth(index), "billing", self.changes.billing_edits)

    def _last(self, index: int, born: int | None, purpose: str, rate: float) -> int:
        if born is None or born >= self.number:
            return 0
        last = last_event(index, self.salts[purpose], rate, self.number - born)
        return born + last if last else 0

    # ----------------------------------------------------------------- ratings

    def rating_rate(self, popularity: float) -> float:
        """Chance a day that a title's rating row changes: near 1 for the most popular titles.

        ``(1 - popularity) ** k`` with ``k = 1/ratings - 1`` averages to ``ratings`` over
        titles, as popularity is uniform in (0, 1] and independent of being rated.
        """
        share = self.changes.ratings
        if share <= 0:
            return 0.0
        return float((1.0 - popularity) ** (1.0 / share - 1.0))

    def rating_changes(self, index: int, popularity: float) -> int:
        """How many times the title's rating row has changed since it first appeared.

        Each title changes on a share ``rating_rate`` of days, at a phase of its own:
        ``floor(days * rate + phase)``; so the count is closed-form, whatever the day.
        """
        born = self.title_birth(index)
        if index < self.protected_titles or born is None or born >= self.number:
            return 0
        phase = unit(index, self.salts["rating-phase"])
        return math.floor((self.number - born) * self.rating_rate(popularity) + phase)

    def vote_hash(self, index: int, change: int, purpose: int) -> float:
        """A uniform number for the title's ``change``-th rating change (votes, drops, average)."""
        return unit(index, self.salts["votes"] ^ mix64(change * 4 + purpose))

    def edit_seed(self, index: int, day: int, purpose: str) -> int:
        """A seed for the random choices of one edit (what the new genres or name are)."""
        return mix64(index ^ self.salts[purpose] ^ mix64(day))


def _birth(index: int, base: int, growth: Growth) -> int | None:
    if index < base:
        return 0
    if index < growth.first or growth.per_day <= 0:
        return None  # the range dirty files use for dangling references, or no growth at all
    return growth.birth(index - growth.first)
