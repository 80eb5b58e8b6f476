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

filmography as (
    -- Already one row per (person, title): counting titles needs no distinct.
    select * from {{ ref('person_filmography') }}
),

credit_counts as (
    select
        person_id,
        count(*)::integer as credited_title_count
    from filmography
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
