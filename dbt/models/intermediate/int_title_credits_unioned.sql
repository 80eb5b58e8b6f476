{#
    Everyone credited on a title: title.principals (cast and key crew, with billing
    order) and title.crew (all directors and writers). A director is usually in both;
    grouping on (title, person, role) keeps one row that knows both.

    A view, and never stored: this is the largest set in the project (about 130 million
    rows at IMDb's size). bridge_title_people is this view without the dangling
    references; int_title_features_unioned reads it for a few titles. Written without
    WITH and as UNION ALLs so that a filter reaches the indexes: on title_id, the raw
    primary keys and int_title_crew_unnested's key; on person_id, the loader's
    (nconst, tconst, category) index on title.principals and int_title_crew_unnested's
    person index. One title's or one person's credits take milliseconds.

    Only directors and writers can be in both files, so only they are grouped; the
    other principals (most of the rows) stream straight from the raw table's key order.
#}
{{ config(materialized='view') }}

-- Cast and the other principal roles: title.crew has none of them. A person can
-- appear twice under one category (e.g. two parts); keep the top billing.
(
    select distinct on (title_id, person_id, category)
        title_id,
        person_id,
        category as role,
        billing_order,
        null::integer as crew_position,
        job,
        characters,
        true as is_principal,
        false as is_in_crew
    from {{ ref('stg_imdb__title_principals') }}
    where person_id is not null
        and category is not null
        and category not in ('director', 'writer')
    order by title_id, person_id, category, billing_order
)

union all

-- Directors and writers, from both files: one row per (title, person, role) that
-- knows both, with the principals row's billing, job and characters.
select
    title_id,
    person_id,
    role,
    min(billing_order) as billing_order,
    min(crew_position) as crew_position,
    -- The principals rows come top billing first (DISTINCT ON below), and only they
    -- carry a job or characters: max() picks the one principals value out of NULLs.
    max(job) as job,
    max(characters) as characters,
    bool_or(is_principal) as is_principal,
    bool_or(is_in_crew) as is_in_crew
from (
    (
        select distinct on (title_id, person_id, category)
            title_id,
            person_id,
            category as role,
            billing_order,
            null::integer as crew_position,
            job,
            characters,
            true as is_principal,
            false as is_in_crew
        from {{ ref('stg_imdb__title_principals') }}
        where person_id is not null
            and category in ('director', 'writer')
        order by title_id, person_id, category, billing_order
    )

    union all

    select
        title_id,
        person_id,
        role,
        null::integer as billing_order,
        crew_position,
        null::text as job,
        null::text[] as characters,
        false as is_principal,
        true as is_in_crew
    from {{ ref('int_title_crew_unnested') }}
) as crew_credits
group by title_id, person_id, role
