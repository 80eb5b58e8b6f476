{{
    config(
        indexes=[
            {'columns': ['person_id'], 'unique': True},
            {'columns': ['primary_name']},
        ]
    )
}}

with

people as (
    select * from {{ ref('stg_imdb__names') }}
),

credits as (
    select * from {{ ref('bridge_title_people') }}
),

person_titles as (
    -- One row per (person, title), whatever the number of roles: the grain of
    -- person_filmography, counted here from the bridge it is a view of. DISTINCT ON in the
    -- order of the bridge's unique index (title_id, person_id, role) streams from that
    -- index; a plain DISTINCT hashed all the bridge's keys and spilled (156 s at 0.2).
    select distinct on (title_id, person_id) person_id, title_id
    from credits
    order by title_id, person_id
),

credit_counts as (
    select
        person_id,
        count(*)::integer as credited_title_count
    from person_titles
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
