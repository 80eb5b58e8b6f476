"""Print the top recommendations for a few popular titles, from imdb_marts.

    PGHOST=... PGDATABASE=imdb .venv/bin/python dbt/scripts/show_recommendations.py
    .venv/bin/python dbt/scripts/show_recommendations.py --titles 3 --top 5
    .venv/bin/python dbt/scripts/show_recommendations.py --title-id tt0111161

Connects with libpq's PG* variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD,
PGSSLMODE), like every part of the pipeline. "Popular" means most voted among the
titles that have recommendations.
"""

from __future__ import annotations

import argparse
import sys

import psycopg2

POPULAR_TITLES = """
    select t.title_id
    from imdb_marts.dim_titles as t
    where exists (select 1 from imdb_marts.title_recommendations as r where r.title_id = t.title_id)
    order by t.num_votes desc nulls last, t.title_id
    limit %s
"""

TITLE = """
    select title_id, primary_title, title_type, start_year, weighted_rating, num_votes
    from imdb_marts.dim_titles
    where title_id = %s
"""

RECOMMENDATIONS = """
    select r.recommendation_rank, t.title_id, t.primary_title, t.title_type, t.start_year,
        r.similarity_score, r.reason
    from imdb_marts.title_recommendations as r
    inner join imdb_marts.dim_titles as t
        on r.recommended_title_id = t.title_id
    where r.title_id = %s
        and r.recommendation_rank <= %s
    order by r.recommendation_rank
"""


def describe(title: str | None, title_type: str | None, year: int | None) -> str:
    return f"{title or '(untitled)'} ({title_type or '?'}, {year or '?'})"


def show(cur: psycopg2.extensions.cursor, title_id: str, top: int) -> bool:
    cur.execute(TITLE, (title_id,))
    row = cur.fetchone()
    if row is None:
        print(f"{title_id}: no such title in imdb_marts.dim_titles", file=sys.stderr)
        return False
    _, name, title_type, year, weighted, votes = row
    rating = f"weighted rating {weighted}, {votes:,} votes" if votes is not None else "unrated"
    print(f"Because you watched {describe(name, title_type, year)} [{title_id}], {rating}:")
    cur.execute(RECOMMENDATIONS, (title_id, top))
    rows = cur.fetchall()
    if not rows:
        print("  (no recommendations: too few votes, or an excluded title type)")
    for rank, other_id, other_name, other_type, other_year, score, reason in rows:
        print(f"  {rank:>2}. {describe(other_name, other_type, other_year)} [{other_id}]  score {score}  - {reason}")
    print()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print top recommendations for popular titles.")
    parser.add_argument("--titles", type=int, default=3, help="how many popular titles (default 3)")
    parser.add_argument("--top", type=int, default=5, help="recommendations per title (default 5)")
    parser.add_argument("--title-id", action="append", default=[], help="show this title instead (repeatable)")
    args = parser.parse_args(argv)
    try:
        conn = psycopg2.connect("")  # everything from PG* variables
    except psycopg2.OperationalError as exc:
        print(f"cannot connect with the PG* variables: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    with conn, conn.cursor() as cur:
        try:
            title_ids = args.title_id
            if not title_ids:
                cur.execute(POPULAR_TITLES, (args.titles,))
                title_ids = [title_id for (title_id,) in cur.fetchall()]
        except psycopg2.errors.UndefinedTable:
            print("imdb_marts is not built yet: run `dbt build` first", file=sys.stderr)
            return 1
        if not title_ids:
            print("imdb_marts.title_recommendations is empty: are there titles above recommendation_min_votes?")
            return 1
        found = [show(cur, title_id, args.top) for title_id in title_ids]
    conn.close()
    return 0 if all(found) else 1


if __name__ == "__main__":
    sys.exit(main())
