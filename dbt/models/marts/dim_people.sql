{{
    config(
        indexes=[
            {'columns': ['person_id'], 'unique': True},
            {'columns': ['primary_name']},
        ],
        pre_hook=[
            "set local enable_hashagg = off",
        ],
    )
}}
{#-
    credited_title_count is the number of titles in a person's bridge_title_people rows,
    whatever the roles (person_filmography's rows). It is counted from the two stored
    parts of the credit set, each read in (person_id, title_id) order, so the count
    streams and never sorts or hashes the 130 M credits:
      - title.principals through the loader's (nconst, tconst, category) index, an
        index-only scan (the load's COPY FREEZE leaves every page all-visible);
      - title.crew's directors and writers from int_title_crew_unnested's person index.
    UNION merges the two ordered streams into distinct (person, title) pairs.
    The bridge's filters, restated: a principals credit needs a category (a role);
    titles missing from title.basics are left out (people missing from name.basics have
    no row here anyway). Exactly the bridge's pairs: a pytest compares the counts.
    enable_hashagg off (SET LOCAL, this model's transaction only): the planner cannot
    estimate the number of people after a UNION and would hash 30 M pairs that arrive
    already in order.
-#}

with

people as (
    select * from {{ ref('stg_imdb__names') }}
),

principals_pairs as (
    select person_id, title_id
    from {{ ref('stg_imdb__title_principals') }}
    where person_id is not null
        and category is not null
),

crew_pairs as (
    select person_id, title_id
    from {{ ref('int_title_crew_unnested') }}
),

person_titles as (
    -- One row per (person, title), whatever the number of roles: the grain of
    -- person_filmography.
    select person_id, title_id from principals_pairs
    union
    select person_id, title_id from crew_pairs
),

credit_counts as (
    select
        person_id,
        count(*)::integer as credited_title_count
    from person_titles
    -- NOT IN over a hashed list keeps the merged order (an anti join would not, and the
    -- count would sort): the few titles title.basics lacks.
    where title_id not in (
        select unmatched.referenced_id
        from {{ ref('int_references_unmatched') }} as unmatched
        where unmatched.missing_from = 'title.basics'
            and unmatched.referenced_id is not null
    )
    group by person_id
),

joined as (
    select
        people.person_id,
        people.primary_name,
        people.birth_year,
        people.death_year,
        people.primary_professions,
        people.known_for_title_ids,
        coalesce(credit_counts.credited_title_count, 0) as credited_title_count
    from people
    left join credit_counts
        on people.person_id = credit_counts.person_id
),

final as (
    select * from joined
)

select * from final
