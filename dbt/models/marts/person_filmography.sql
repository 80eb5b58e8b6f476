{{
    config(
        indexes=[
            {'columns': ['person_id', 'title_id'], 'unique': True},
            {'columns': ['person_id', 'filmography_position']},
            {'columns': ['title_id']},
        ]
    )
}}

with

credits as (
    select * from {{ ref('bridge_title_people') }}
),

titles as (
    select * from {{ ref('dim_titles') }}
),

known_for as (
    select * from {{ ref('int_person_known_for_unnested') }}
),

credits_per_title as (
    -- One row per person and title, whatever the number of roles they had on it.
    select
        person_id,
        title_id,
        array_agg(role order by role) as roles,
        min(billing_order) as best_billing_order
    from credits
    group by person_id, title_id
),

characters_per_title as (
    -- The characters of the best billed credit that names any.
    select distinct on (person_id, title_id)
        person_id,
        title_id,
        characters
    from credits
    where characters is not null
    order by person_id, title_id, billing_order nulls last, role
),

joined as (
    select
        credits_per_title.person_id,
        credits_per_title.title_id,
        credits_per_title.roles,
        credits_per_title.best_billing_order,
        characters_per_title.characters,
        titles.primary_title,
        titles.title_type,
        titles.start_year,
        titles.average_rating,
        titles.num_votes,
        titles.weighted_rating,
        known_for.title_id is not null as is_known_for,
        row_number() over (
            partition by credits_per_title.person_id
            order by titles.start_year nulls last, credits_per_title.title_id
        )::integer as filmography_position
    from credits_per_title
    inner join titles
        on credits_per_title.title_id = titles.title_id
    left join characters_per_title
        on credits_per_title.person_id = characters_per_title.person_id
        and credits_per_title.title_id = characters_per_title.title_id
    left join known_for
        on credits_per_title.person_id = known_for.person_id
        and credits_per_title.title_id = known_for.title_id
),

final as (
    select * from joined
)

select * from final
