"""The dbt project, end to end: synthetic IMDb files -> real loader -> real dbt build.

One warehouse per module: the synthetic files (plus a few hand-made titles with a
known answer) are served over HTTP, loaded by the ``imdb-load`` CLI into a fresh
PostgreSQL 18 database, and ``dbt build`` runs once (models, data tests and unit
tests). The tests then read dbt's run results and the marts.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from imdb_pipeline.local_tools import dbt_command

from imdb_devkit import pg, synth
from imdb_devkit.server import serve
from imdb_loader.libpq import pg_env

from ..conftest import DBT_MARTS, REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCALE = 0.002
SEED = 5
DBT_PROJECT = REPO_ROOT / "dbt"
DBT = Path(dbt_command())
# The loader that fills the warehouse; IMDB_LOAD_BIN (as the DAG's local runner reads it) picks another build.
IMDB_LOAD = Path(os.environ.get("IMDB_LOAD_BIN") or Path(sys.executable).parent / "imdb-load")
# Synthetic votes are small at this scale; the default (1000) is meant for real IMDb data.
MIN_VOTES = 20
DBT_VARS = {"recommendation_min_votes": MIN_VOTES}

# Staging keeps IMDb's dangling references and reports them as warnings (see
# dbt/models/staging/imdb/_imdb__models.yml); the synthetic files have some on purpose.
REFERENCES_WARNING = "assert_imdb_references_are_known"
ALLOWED_WARNINGS_PREFIX = ("relationships_stg_imdb__", REFERENCES_WARNING)

# Hand-made titles with a known answer, appended to the synthetic files.
DIRECTOR = "nm9900001"
SAME_DIRECTOR_A, SAME_DIRECTOR_B, SAME_DIRECTOR_UNPOPULAR = "tt9900001", "tt9900002", "tt9900003"
KNOWN_ANSWER_ROWS: dict[str, list[str]] = {
    "name.basics": [f"{DIRECTOR}\tKnown Director\t1950\t\\N\tdirector\t{SAME_DIRECTOR_A},{SAME_DIRECTOR_B}"],
    "title.basics": [
        f"{SAME_DIRECTOR_A}\tmovie\tKnown One\tKnown One\t0\t1999\t\\N\t100\tWestern,Musical",
        f"{SAME_DIRECTOR_B}\tmovie\tKnown Two\tKnown Two\t0\t2001\t\\N\t95\tWestern,Musical",
        f"{SAME_DIRECTOR_UNPOPULAR}\tmovie\tKnown Three\tKnown Three\t0\t2003\t\\N\t90\tWestern,Musical",
    ],
    "title.crew": [
        f"{SAME_DIRECTOR_A}\t{DIRECTOR}\t\\N",
        f"{SAME_DIRECTOR_B}\t{DIRECTOR}\t\\N",
        f"{SAME_DIRECTOR_UNPOPULAR}\t{DIRECTOR}\t\\N",
    ],
    "title.ratings": [
        f"{SAME_DIRECTOR_A}\t8.0\t50000",
        f"{SAME_DIRECTOR_B}\t7.5\t40000",
        f"{SAME_DIRECTOR_UNPOPULAR}\t9.0\t{MIN_VOTES - 1}",
    ],
}


@dataclass
class Warehouse:
    dsn: str
    dbt_env: dict[str, str]
    target_path: Path
    build: subprocess.CompletedProcess[str]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.query(sql, params)[0][0]

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_dbt(self.dbt_env, *args)


def run_dbt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DBT), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def append_known_answers(files: Path) -> None:
    for dataset, lines in KNOWN_ANSWER_ROWS.items():
        path = files / f"{dataset}.tsv.gz"
        body = gzip.decompress(path.read_bytes()) + "".join(f"{line}\n" for line in lines).encode()
        path.write_bytes(gzip.compress(body, compresslevel=1))


@pytest.fixture(scope="module")
def warehouse(pg_server: pg.Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    if not DBT.exists():
        pytest.skip(f"dbt is not installed at {DBT}; run `make setup`")
    files = tmp_path_factory.mktemp("imdb-files")
    synth.generate(files, SCALE, seed=SEED, jobs=2)  # default dirt: duplicates and dangling references
    append_known_answers(files)
    name = f"dbt_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(name)
    try:
        with serve(files) as site:
            load = subprocess.run(
                [str(IMDB_LOAD), "all", "--dsn", dsn, "--base-url", site.base_url, "--parallel", "2"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        assert load.returncode == 0, f"imdb-load failed ({load.returncode}):\n{load.stderr[-3000:]}"
        work = tmp_path_factory.mktemp("dbt")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
            **pg_env(dsn),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_THREADS": "4",
        }
        build = run_dbt(env, "build", "--vars", json.dumps(DBT_VARS))
        yield Warehouse(dsn=dsn, dbt_env=env, target_path=work / "target", build=build)
    finally:
        pg_server.drop_database(name)


def run_results(wh: Warehouse) -> list[dict[str, Any]]:
    return list(json.loads((wh.target_path / "run_results.json").read_text())["results"])


def test_dbt_build_succeeds_with_only_the_documented_warnings(warehouse: Warehouse) -> None:
    assert warehouse.build.returncode == 0, warehouse.build.stdout[-5000:]
    results = run_results(warehouse)
    by_kind: dict[str, int] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0) + 1
        name = result["unique_id"].split(".")[2]
        if result["status"] == "warn":
            assert name.startswith(ALLOWED_WARNINGS_PREFIX), f"unexpected warning: {name}: {result['message']}"
        else:
            assert result["status"] in ("success", "pass"), f"{name}: {result['status']}: {result['message']}"
    assert by_kind["model"] == len(list((DBT_PROJECT / "models").rglob("*.sql")))
    # Every data and unit test of the project ran (the manifest is what dbt parsed).
    manifest = json.loads((warehouse.target_path / "manifest.json").read_text())
    assert by_kind["unit_test"] == len(manifest["unit_tests"]) >= 8
    assert by_kind["test"] == sum(1 for node in manifest["nodes"] if node.startswith("test.")) >= 80
    # The synthetic files carry dangling references, and the build must have reported them.
    warned = {r["unique_id"].split(".")[2] for r in results if r["status"] == "warn"}
    assert REFERENCES_WARNING in warned


# The references to ids the basics files lack, per file, straight from the raw tables.
RAW_UNMATCHED_REFERENCES = """
    select tconst, referenced_in, 'title.basics' from (
        select tconst, 'title.principals' as referenced_in from imdb_raw.title_principals
        union select tconst, 'title.crew' from imdb_raw.title_crew
        union select unnest(string_to_array(known_for_titles, ',')), 'name.basics' from imdb_raw.name_basics
    ) as referenced
    where tconst <> '' and tconst not in (select tconst from imdb_raw.title_basics)
    union
    select nconst, referenced_in, 'name.basics' from (
        select nullif(nconst, '') as nconst, 'title.principals' as referenced_in from imdb_raw.title_principals
        union select unnest(string_to_array(directors, ',')), 'title.crew' from imdb_raw.title_crew
        union select unnest(string_to_array(writers, ',')), 'title.crew' from imdb_raw.title_crew
    ) as referenced
    where nconst <> '' and nconst not in (select nconst from imdb_raw.name_basics)
"""


def test_unmatched_references_are_the_raw_files_dangling_ids(warehouse: Warehouse) -> None:
    # The bridge leaves out exactly the credits of these ids, so they must be all of them and no more.
    expected = set(warehouse.query(RAW_UNMATCHED_REFERENCES))
    listed = warehouse.query(
        "select referenced_id, referenced_in, missing_from from imdb_intermediate.int_references_unmatched"
    )
    assert len(listed) == len(set(listed))
    assert set(listed) == expected
    assert {(file, missing) for _, file, missing in expected} >= {
        ("title.principals", "name.basics"),
        ("name.basics", "title.basics"),
    }
    warning = next(r for r in run_results(warehouse) if r["unique_id"].split(".")[2] == REFERENCES_WARNING)
    assert warning["failures"] == len(expected)


def test_staging_dedupes_keys_that_the_source_repeats(warehouse: Warehouse) -> None:
    raw = warehouse.scalar("select count(distinct tconst) from imdb_raw.title_basics")
    assert warehouse.scalar("select count(*) from imdb_marts.dim_titles") == raw
    repeated = (
        "select count(*) from (select 1 from imdb_staging.stg_imdb__titles group by title_id having count(*) > 1) d"
    )
    assert warehouse.scalar(repeated) == 0


def test_list_columns_become_arrays(warehouse: Warehouse) -> None:
    # title.akas quirk row 1 of the synthetic files: \x02-separated types.
    akas = "select count(*) from imdb_staging.stg_imdb__title_akas where aka_types = array['alternative', 'tv']"
    assert warehouse.scalar(akas) >= 1
    genres = warehouse.query("select genres from imdb_marts.dim_titles where title_id = %s", (SAME_DIRECTOR_A,))
    assert genres == [(["Western", "Musical"],)]
    empty = "select count(*) from imdb_staging.stg_imdb__titles where '' = any(genres) or genres = '{}'"
    assert warehouse.scalar(empty) == 0


def test_characters_json_is_parsed(warehouse: Warehouse) -> None:
    # Quirk rows of the synthetic principals: escaped quotes and several scripts.
    count = "select count(*) from imdb_staging.stg_imdb__title_principals where characters = %s"
    assert warehouse.scalar(count, (['The "Boss"'],)) >= 1
    assert warehouse.scalar(count, (["Анна", "李小龙", "🎭"],)) >= 1


def test_weighted_rating_pulls_towards_the_type_mean(warehouse: Warehouse) -> None:
    rows = warehouse.query(
        "select title_id, average_rating, prior_mean_rating, weighted_rating from imdb_marts.fct_title_ratings "
        "where title_id in %s order by title_id",
        ((SAME_DIRECTOR_A, SAME_DIRECTOR_UNPOPULAR),),
    )
    (popular, r_pop, c_pop, wr_pop), (unpopular, r_unpop, c_unpop, wr_unpop) = rows
    assert (popular, unpopular) == (SAME_DIRECTOR_A, SAME_DIRECTOR_UNPOPULAR)
    assert c_pop == c_unpop, "both are movies: same prior"
    # 50,000 votes: almost its own 8.0. 19 votes of 9.0: far closer to the movie mean.
    assert c_pop < wr_pop <= r_pop and r_pop - wr_pop < 0.1
    assert c_unpop < wr_unpop < r_unpop and r_unpop - wr_unpop > wr_unpop - c_unpop


def test_known_director_titles_recommend_each_other(warehouse: Warehouse) -> None:
    for title, other in ((SAME_DIRECTOR_A, SAME_DIRECTOR_B), (SAME_DIRECTOR_B, SAME_DIRECTOR_A)):
        rows = warehouse.query(
            "select recommendation_rank, reason, shared_directors, shared_genres, similarity_score "
            "from imdb_marts.title_recommendations where title_id = %s and recommended_title_id = %s",
            (title, other),
        )
        # Same director and the same genres outscore anything that shares only genres.
        assert rows == [(1, "same director, 2 shared genres", 1, 2, rows[0][4])], rows
    # Below the vote threshold: never recommended, even by its own director's titles.
    involving = "select count(*) from imdb_marts.title_recommendations where %s in (title_id, recommended_title_id)"
    assert warehouse.scalar(involving, (SAME_DIRECTOR_UNPOPULAR,)) == 0


def test_recommendations_are_bounded_and_well_formed(warehouse: Warehouse) -> None:
    recommendable = warehouse.scalar("select count(*) from imdb_intermediate.int_titles_filtered_to_recommendable")
    assert recommendable >= 100, "the synthetic data must give the recommender something to do"
    per_title = warehouse.query(
        "select count(*), min(similarity_score), max(similarity_score) from imdb_marts.title_recommendations "
        "group by title_id"
    )
    assert len(per_title) >= 0.9 * recommendable
    assert all(n <= 10 and 0 <= low <= high <= 1 for n, low, high in per_title)
    not_recommendable = (
        "select count(*) from imdb_marts.title_recommendations r join imdb_marts.dim_titles t "
        "on t.title_id in (r.title_id, r.recommended_title_id) where t.title_type = 'tvEpisode' or t.num_votes < %s"
    )
    assert warehouse.scalar(not_recommendable, (MIN_VOTES,)) == 0
    # Candidate generation stays within its documented per-title bound.
    most_candidates = (
        "select max(n) from (select count(*) as n from imdb_intermediate.int_title_pairs_generated group by title_id) c"
    )
    assert warehouse.scalar(most_candidates) <= 25 * 49 + 6 * 24
    reasons = warehouse.query("select distinct reason from imdb_marts.title_recommendations")
    assert all(reason for (reason,) in reasons)


def test_bridges_and_trends_agree_with_the_dimensions(warehouse: Warehouse) -> None:
    unknown_people = (
        "select count(*) from imdb_marts.bridge_title_people b "
        "left join imdb_marts.dim_people p using (person_id) where p.person_id is null"
    )
    assert warehouse.scalar(unknown_people) == 0
    assert warehouse.query(
        "select role from imdb_marts.bridge_title_people where title_id = %s and person_id = %s",
        (SAME_DIRECTOR_A, DIRECTOR),
    ) == [("director",)]
    trend_total = warehouse.scalar("select sum(title_count) from imdb_marts.genre_year_trends")
    expected = warehouse.scalar(
        "select count(*) from imdb_marts.bridge_title_genres g join imdb_marts.dim_titles t using (title_id) "
        "where t.start_year is not null and t.title_type <> 'tvEpisode'"
    )
    assert trend_total == expected > 0
    assert warehouse.query(
        "select title_id, is_known_for from imdb_marts.person_filmography where person_id = %s order by 1",
        (DIRECTOR,),
    ) == [(SAME_DIRECTOR_A, True), (SAME_DIRECTOR_B, True), (SAME_DIRECTOR_UNPOPULAR, False)]


def test_marts_are_indexed(warehouse: Warehouse) -> None:
    indexed = {
        table for (table,) in warehouse.query("select tablename from pg_indexes where schemaname = 'imdb_marts'")
    }
    views = {name for (name,) in warehouse.query("select viewname from pg_views where schemaname = 'imdb_marts'")}
    # The credit set is never stored by dbt: both are views over indexed parts (see their models).
    assert views == {"bridge_title_people", "person_filmography"}
    assert indexed == DBT_MARTS - views


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("select * from imdb_marts.person_filmography where person_id = %s", DIRECTOR),
        ("select * from imdb_marts.bridge_title_people where person_id = %s", DIRECTOR),
        ("select * from imdb_marts.bridge_title_people where title_id = %s", SAME_DIRECTOR_A),
    ],
    ids=["filmography-by-person", "bridge-by-person", "bridge-by-title"],
)
def test_one_persons_or_titles_credits_are_read_through_indexes(warehouse: Warehouse, query: str, value: str) -> None:
    """The views reach the stored parts' indexes: title.principals' primary key or the loader's
    (nconst, tconst, category) index, and int_title_crew_unnested's key or person index. With
    sequential scans off the planner still has a choice, so a missing index or a filter that
    cannot reach one shows up as a Seq Scan."""
    with psycopg2.connect(warehouse.dsn) as conn, conn.cursor() as cur:
        cur.execute("set enable_seqscan = off")
        cur.execute(f"explain {query}", (value,))
        plan = "\n".join(line for (line,) in cur.fetchall())
    assert "Seq Scan on title_principals" not in plan and "Seq Scan on int_title_crew_unnested" not in plan, plan
    assert "on title_principals" in plan and "on int_title_crew_unnested" in plan, plan


def test_dim_people_counts_the_bridges_titles(warehouse: Warehouse) -> None:
    """dim_people counts from the stored parts (principals' index and the crew table), not from
    the bridge view: the counts must be the bridge's, person by person."""
    differing = """
        select count(*)
        from imdb_marts.dim_people as people
        left join (
            select person_id, count(distinct title_id) as titles
            from imdb_marts.bridge_title_people
            group by person_id
        ) as bridge using (person_id)
        where people.credited_title_count <> coalesce(bridge.titles, 0)
    """
    assert warehouse.scalar(differing) == 0
    assert warehouse.scalar("select count(*) from imdb_marts.dim_people where credited_title_count > 0") > 0


def test_source_freshness_comes_from_load_runs(warehouse: Warehouse) -> None:
    # Age two datasets' last successful load: 3 days warns (> 2), 8 days errors (> 7).
    with psycopg2.connect(warehouse.dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "update imdb_raw.load_runs set finished_at = now() - case dataset "
            "when 'title.crew' then interval '3 days' else interval '8 days' end "
            "where dataset in ('title.crew', 'title.akas')"
        )
    result = warehouse.dbt("source", "freshness")
    sources = json.loads((warehouse.target_path / "sources.json").read_text())["results"]
    status = {r["unique_id"].split(".")[-1]: r["status"] for r in sources}
    assert status == {
        "name_basics": "pass",
        "title_basics": "pass",
        "title_akas": "error",
        "title_crew": "warn",
        "title_episode": "pass",
        "title_principals": "pass",
        "title_ratings": "pass",
    }, result.stdout[-3000:]
    assert result.returncode == 1


def test_docs_generate(warehouse: Warehouse) -> None:
    result = warehouse.dbt("docs", "generate", "--vars", json.dumps(DBT_VARS))
    assert result.returncode == 0, result.stdout[-3000:]
    catalog = json.loads((warehouse.target_path / "catalog.json").read_text())
    assert "model.imdb.title_recommendations" in catalog["nodes"]
    assert (warehouse.target_path / "index.html").exists()


def test_show_recommendations_script(warehouse: Warehouse) -> None:
    script = DBT_PROJECT / "scripts" / "show_recommendations.py"
    env = {k: v for k, v in warehouse.dbt_env.items() if not k.startswith("DBT_")}
    popular = subprocess.run(
        [sys.executable, str(script), "--titles", "3", "--top", "5"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert popular.returncode == 0, popular.stderr
    assert popular.stdout.count("Because you watched") == 3
    known = subprocess.run(
        [sys.executable, str(script), "--title-id", SAME_DIRECTOR_A, "--top", "1"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert known.returncode == 0, known.stderr
    assert f"1. Known Two (movie, 2001) [{SAME_DIRECTOR_B}]" in known.stdout
    assert "same director, 2 shared genres" in known.stdout


def test_uniqueness_tests_fail_on_a_repeated_key_with_or_without_a_unique_index(warehouse: Warehouse) -> None:
    # int_title_pairs_generated has no index: the window path must see the repeat. bridge_title_genres
    # has a unique index on (title_id, genre), which lets NULLs repeat: the indexed path must see those.
    repeat = (
        "insert into imdb_intermediate.int_title_pairs_generated "
        "select * from imdb_intermediate.int_title_pairs_generated where title_id = %s"
    )
    nulls = "insert into imdb_marts.bridge_title_genres values (%s, null, 1), (%s, null, 2)"
    with psycopg2.connect(warehouse.dsn) as conn, conn.cursor() as cur:
        cur.execute(repeat, (SAME_DIRECTOR_A,))
        cur.execute(nulls, (SAME_DIRECTOR_A, SAME_DIRECTOR_A))
    try:
        result = warehouse.dbt(
            "test", "--select", "unique_combination_of_columns_int_title_pairs_generated_title_id__candidate_title_id",
            "unique_combination_of_columns_bridge_title_genres_title_id__genre",
        )  # fmt: skip
        failed = {
            r["unique_id"].split(".")[2]
            for r in json.loads((warehouse.target_path / "run_results.json").read_text())["results"]
            if r["status"] == "fail"
        }
        assert failed == {
            "unique_combination_of_columns_int_title_pairs_generated_title_id__candidate_title_id",
            "unique_combination_of_columns_bridge_title_genres_title_id__genre",
        }, result.stdout[-3000:]
    finally:
        with psycopg2.connect(warehouse.dsn) as conn, conn.cursor() as cur:
            cur.execute("delete from imdb_marts.bridge_title_genres where genre is null")
            cur.execute(
                "delete from imdb_intermediate.int_title_pairs_generated where ctid in (select max(ctid) "
                "from imdb_intermediate.int_title_pairs_generated where title_id = %s group by candidate_title_id)",
                (SAME_DIRECTOR_A,),
            )


def test_source_grain_tests_read_the_catalog_and_warn_on_a_raw_table_without_its_key(
    warehouse: Warehouse,
) -> None:
    # With the loader's primary key the grain test reads nothing (macros/unique_rows.sql); without
    # it, the same test must scan the raw table and warn about the repeated key staging drops.
    test = "source_unique_combination_of_columns_imdb_title_ratings_tconst"
    compiled = next((warehouse.target_path / "compiled").rglob(f"{test}.sql")).read_text()
    assert "where false" in compiled, compiled
    key = warehouse.scalar(
        "select conname from pg_constraint where conrelid = 'imdb_raw.title_ratings'::regclass and contype = 'p'"
    )
    with psycopg2.connect(warehouse.dsn) as conn, conn.cursor() as cur:
        cur.execute(f'alter table imdb_raw.title_ratings drop constraint "{key}"')
        cur.execute("insert into imdb_raw.title_ratings select * from imdb_raw.title_ratings where tconst = %s",
                    (SAME_DIRECTOR_A,))  # fmt: skip
    try:
        result = warehouse.dbt("test", "--select", "source:imdb.title_ratings,test_name:unique_combination_of_columns")
        statuses = {
            r["unique_id"].split(".")[2]: (r["status"], r["failures"])
            for r in json.loads((warehouse.target_path / "run_results.json").read_text())["results"]
        }
        assert statuses == {test: ("warn", 1)}, result.stdout[-3000:]
    finally:
        with psycopg2.connect(warehouse.dsn) as conn, conn.cursor() as cur:
            cur.execute(
                "delete from imdb_raw.title_ratings where ctid = "
                "(select max(ctid) from imdb_raw.title_ratings where tconst = %s)",
                (SAME_DIRECTOR_A,),
            )
            cur.execute(f'alter table imdb_raw.title_ratings add constraint "{key}" primary key (tconst)')
