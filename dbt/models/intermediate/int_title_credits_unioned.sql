{#
    Everyone credited on a title: title.principals (cast and key crew, with billing
    order) and title.crew (all directors and writers). A director is usually in both;
    the full outer join on (title, person, role) keeps one row that knows both.
#}
with

principals as (
    select * from {{ ref('stg_imdb__title_principals') }}
),

crew as (
    select * from {{ ref('stg_imdb__title_crew') }}
),

principal_credits as (
    -- A person can appear twice under one category (e.g. two parts); keep the top billing.
    select distinct on (title_id, person_id, category)
        title_id,
        person_id,
        category as role,
        billing_order,
        job,
        characters
    from principals
    where person_id is not null
        and category is not null
    order by title_id, person_id, category, billing_order
),

crew_members as (
    select
        crew.title_id,
        director.person_id,
        'director' as role,
        director.crew_position::integer as crew_position
    from crew
    cross join lateral unnest(crew.director_ids) with ordinality as director (person_id, crew_position)

    union all

    select
        crew.title_id,
        writer.person_id,
        'writer' as role,
        writer.crew_position::integer as crew_position
    from crew
    cross join lateral unnest(crew.writer_ids) with ordinality as writer (person_id, crew_position)
),

crew_credits as (
    select distinct on (title_id, person_id, role) *
    from crew_members
    order by title_id, person_id, role, crew_position
),

unioned as (
    select
        coalesce(principal_credits.title_id, crew_credits.title_id) as title_id,
        coalesce(principal_credits.person_id, crew_credits.person_id) as person_id,
        coalesce(principal_credits.role, crew_credits.role) as role,
        principal_credits.billing_order,
        crew_credits.crew_position,
        principal_credits.job,
        principal_credits.characters,
        principal_credits.title_id is not null as is_principal,
        crew_credits.title_id is not null as is_in_crew
    from principal_credits
    full outer join crew_credits
        on principal_credits.title_id = crew_credits.title_id
        and principal_credits.person_id = crew_credits.person_id
        and principal_credits.role = crew_credits.role
),

final as (
    select * from unioned
)

select * from final
