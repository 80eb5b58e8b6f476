{#-
    A view, not a table: every credit, with the dangling references left out.

    Stored, it was the build's critical path and its largest table: at IMDb's size 129 M
    rows, 12 GB of table and 8 GB of indexes, a second copy of title.principals (which the
    loader already stores, indexed) with title.crew's lists unnested, and over half of
    `dbt build` (1,035 s of 1,797 s at scale 1.0). As a view it reads the stored parts
    through their indexes:
      - one title's credits: the raw primary keys of title.principals and the key of
        int_title_crew_unnested;
      - one person's credits: the loader's (nconst, tconst, category) index on
        title.principals and int_title_crew_unnested's person index.
    Both take milliseconds (a pytest checks the plans). A whole scan computes the set
    (about a minute at scale 0.2), which is what building the table did every day.

    Its grain, (title_id, person_id, role), holds by construction: the principals that
    are neither director nor writer are DISTINCT ON that key, directors and writers are
    grouped on it, and the two parts have different roles (unit-tested on
    int_title_credits_unioned). Its references resolve by construction: a credit's title
    or person is in the basics files exactly when int_references_unmatched does not list
    it (that table is checked against the raw tables by a pytest).
-#}
{{ config(materialized='view') }}

select
    credits.title_id,
    credits.person_id,
    credits.role,
    credits.billing_order,
    credits.crew_position,
    credits.job,
    credits.characters,
    credits.is_principal,
    credits.is_in_crew
from {{ ref('int_title_credits_unioned') }} as credits
-- IMDb's files reference titles and people that are not in title.basics or
-- name.basics (removed or not yet published): a bridge row must join both ways, so
-- those credits are left out, by an anti join against the few ids
-- int_references_unmatched lists (assert_imdb_references_are_known warns about them).
where not exists (
        select from {{ ref('int_references_unmatched') }} as unmatched
        where unmatched.referenced_id = credits.title_id
    )
    and not exists (
        select from {{ ref('int_references_unmatched') }} as unmatched
        where unmatched.referenced_id = credits.person_id
    )
