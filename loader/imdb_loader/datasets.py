"""The one description of the seven IMDb non-commercial datasets.

Everything else derives from this module: DDL, COPY column lists, header checks,
the synthetic generator, the DAG's task list, tests and docs. When IMDb changes a
file, this is the only place to edit.

Source: https://developer.imdb.com/non-commercial-datasets/
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NULL_MARKER = "\\N"
"""IMDb's NULL: a field that is exactly backslash-N. Nothing else is special."""

LIST_SEPARATOR = ","
AKAS_LIST_SEPARATOR = "\x02"


@dataclass(frozen=True)
class Column:
    source: str
    """The header as IMDb spells it, e.g. ``primaryTitle``."""
    pg_type: str
    """PostgreSQL type of the raw column."""
    nullable: bool = True
    list_separator: str | None = None
    """Set for list columns. The raw table keeps the text; dbt splits it."""
    description: str = ""

    @property
    def name(self) -> str:
        """The raw table column name: snake_case of the IMDb header."""
        return snake_case(self.source)

    @property
    def is_list(self) -> bool:
        return self.list_separator is not None


@dataclass(frozen=True)
class Dataset:
    name: str
    """IMDb's name, e.g. ``title.basics``."""
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    """Raw column names (snake_case)."""
    indexes: tuple[tuple[str, ...], ...] = ()
    """Secondary indexes built after the data is in, for the joins dbt does."""
    description: str = ""
    rows_at_scale_1: int = 0
    """Approximate real row count (2026), used by the generator and projections."""
    heavy: bool = False
    """Large enough to deserve more CPU and memory in its pod."""
    relations: tuple[tuple[str, str], ...] = field(default=())
    """(raw column, referenced dataset) pairs. IMDb does not enforce these."""
    min_rows: int = 1
    """The fewest rows a new version may have to be swapped in (``--allow-shrink`` lifts it).
    One for every dataset: the synthetic files the dev kit serves go down to a handful of rows,
    and the shrink guard's ratio against the live table catches the real accidents."""

    @property
    def file_name(self) -> str:
        return f"{self.name}.tsv.gz"

    @property
    def table(self) -> str:
        """Raw table name without schema, e.g. ``title_basics``."""
        return self.name.replace(".", "_")

    @property
    def task_id(self) -> str:
        return f"load_{self.table}"

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(c.source for c in self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if name in (col.name, col.source):
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


def snake_case(header: str) -> str:
    """``primaryTitle`` -> ``primary_title``; ``tconst`` stays ``tconst``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", header).lower()


def _c(source: str, pg_type: str, description: str = "", **kw: object) -> Column:
    return Column(source=source, pg_type=pg_type, description=description, **kw)  # type: ignore[arg-type]


def _key(source: str, description: str = "") -> Column:
    return Column(source=source, pg_type="text", nullable=False, description=description)


def _list(source: str, description: str = "", sep: str = LIST_SEPARATOR) -> Column:
    return Column(source=source, pg_type="text", list_separator=sep, description=description)


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        name="name.basics",
        description="People: one row per name (nconst).",
        columns=(
            _key("nconst", "Person id, e.g. nm0000001."),
            _c("primaryName", "text", "Name by which the person is most often credited."),
            _c("birthYear", "integer", "YYYY."),
            _c("deathYear", "integer", "YYYY, or NULL if alive."),
            _list("primaryProfession", "Top 3 professions, comma separated."),
            _list("knownForTitles", "tconsts the person is known for, comma separated."),
        ),
        primary_key=("nconst",),
        rows_at_scale_1=15_100_000,
    ),
    Dataset(
        name="title.basics",
        description="Titles: one row per title (tconst).",
        columns=(
            _key("tconst", "Title id, e.g. tt0000001."),
            _c("titleType", "text", "movie, short, tvSeries, tvEpisode, video, ..."),
            _c("primaryTitle", "text", "The title used in promotional materials."),
            _c("originalTitle", "text", "Original title, in the original language."),
            _c("isAdult", "boolean", "0: non-adult title; 1: adult title."),
            _c("startYear", "integer", "Release year; for a series, its start year."),
            _c("endYear", "integer", "TV series end year; NULL for other types."),
            _c("runtimeMinutes", "integer", "Primary runtime, in minutes."),
            _list("genres", "Up to three genres, comma separated."),
        ),
        primary_key=("tconst",),
        rows_at_scale_1=12_300_000,
    ),
    Dataset(
        name="title.akas",
        description="Alternative titles: one row per (title, ordering).",
        columns=(
            _key("titleId", "tconst of the title."),
            Column("ordering", "integer", nullable=False, description="Row number within the title."),
            _c("title", "text", "The localized title."),
            _c("region", "text", "Region of this version (not always ISO 3166)."),
            _c("language", "text", "Language of the title."),
            _list("types", "Attributes such as imdbDisplay, original; \\x02 separated.", AKAS_LIST_SEPARATOR),
            _list("attributes", "Free-text extra terms; \\x02 separated.", AKAS_LIST_SEPARATOR),
            _c("isOriginalTitle", "boolean", "0: not original title; 1: original title."),
        ),
        primary_key=("title_id", "ordering"),
        rows_at_scale_1=55_300_000,
        heavy=True,
        relations=(("title_id", "title.basics"),),
    ),
    Dataset(
        name="title.crew",
        description="Directors and writers: one row per title.",
        columns=(
            _key("tconst", "Title id."),
            _list("directors", "nconsts of the directors, comma separated."),
            _list("writers", "nconsts of the writers, comma separated."),
        ),
        primary_key=("tconst",),
        rows_at_scale_1=12_300_000,
        relations=(("tconst", "title.basics"),),
    ),
    Dataset(
        name="title.episode",
        description="Episodes: one row per episode, with its parent series.",
        columns=(
            _key("tconst", "Episode id."),
            _c("parentTconst", "text", "Parent series id."),
            _c("seasonNumber", "integer", "Season number."),
            _c("episodeNumber", "integer", "Episode number within the season."),
        ),
        primary_key=("tconst",),
        indexes=(("parent_tconst",),),
        rows_at_scale_1=9_500_000,
        relations=(("tconst", "title.basics"), ("parent_tconst", "title.basics")),
    ),
    Dataset(
        name="title.principals",
        description="Principal cast and crew: one row per (title, ordering).",
        columns=(
            _key("tconst", "Title id."),
            Column("ordering", "integer", nullable=False, description="Billing order within the title."),
            _c("nconst", "text", "Person id."),
            _c("category", "text", "Job category, e.g. actor, director."),
            _c("job", "text", "Specific job title, if any."),
            _c("characters", "text", "JSON array of character names, as IMDb writes it."),
        ),
        primary_key=("tconst", "ordering"),
        # A person's credits: dbt's bridge_title_people and person_filmography are views that
        # find them here, and dim_people counts each person's titles from an index-only scan
        # of it (the load's COPY FREEZE leaves every page all-visible).
        indexes=(("nconst", "tconst", "category"),),
        rows_at_scale_1=98_100_000,
        heavy=True,
        relations=(("tconst", "title.basics"), ("nconst", "name.basics")),
    ),
    Dataset(
        name="title.ratings",
        description="Ratings: one row per rated title.",
        columns=(
            _key("tconst", "Title id."),
            _c("averageRating", "numeric(3,1)", "Weighted average of user ratings."),
            _c("numVotes", "integer", "Number of votes."),
        ),
        primary_key=("tconst",),
        rows_at_scale_1=1_640_000,
        relations=(("tconst", "title.basics"),),
    ),
)

BY_NAME: dict[str, Dataset] = {d.name: d for d in DATASETS}
NAMES: tuple[str, ...] = tuple(BY_NAME)


class UnknownDatasetError(ValueError):
    pass


def get(name: str) -> Dataset:
    """Look a dataset up by IMDb name (``title.basics``), table or file name."""
    key = name.strip()
    for suffix in (".tsv.gz", ".tsv"):
        key = key.removesuffix(suffix)
    if key in BY_NAME:
        return BY_NAME[key]
    for ds in DATASETS:
        if key == ds.table:
            return ds
    raise UnknownDatasetError(f"unknown dataset {name!r}; expected one of: {', '.join(NAMES)} or 'all'")


def resolve(names: list[str] | tuple[str, ...]) -> list[Dataset]:
    """Expand ``all`` and de-duplicate, keeping registry order."""
    if not names:
        raise UnknownDatasetError("no dataset given; name one of: " + ", ".join(NAMES) + " or 'all'")
    wanted = {ds.name for n in names for ds in (DATASETS if n == "all" else (get(n),))}
    return [ds for ds in DATASETS if ds.name in wanted]
