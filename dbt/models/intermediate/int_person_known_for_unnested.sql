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
        known_for.known_for_position::integer as known_for_position,
        people.known_for_title_ids
    from people
    cross join lateral unnest(people.known_for_title_ids)
        with ordinality as known_for (title_id, known_for_position)
),

deduplicated as (
    -- A title listed twice keeps its first position: the rows a DISTINCT ON (person_id,
    -- title_id) ordered by position would keep, found per row instead of by sorting every
    -- known-for pair (about 40 M at IMDb's size) for each reader of this view.
    select
        person_id,
        title_id,
        known_for_position
    from unnested
    where known_for_position = array_position(known_for_title_ids, title_id)
),

final as (
    select * from deduplicated
)

select * from final
