{#- A view: nothing in the build reads it (person_filmography checks the array itself),
    so storing it would only cost a write. -#}
{{ config(materialized='view') }}

with

people as (
    select * from {{ ref('stg_imdb__names') }}
),

unnested as (
    select
        people.person_id,
        known_for.title_id,
        known_for.known_for_position::integer as known_for_position
    from people
    cross join lateral unnest(people.known_for_title_ids)
        with ordinality as known_for (title_id, known_for_position)
),

deduplicated as (
    select distinct on (person_id, title_id) *
    from unnested
    order by person_id, title_id, known_for_position
),

final as (
    select * from deduplicated
)

select * from final
