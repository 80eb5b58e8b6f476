with

source as (
    select * from {{ source('imdb', 'title_episode') }}
),

deduplicated as (
    -- One row per key (see macros/deduplicate.sql).
    {{ deduplicate('source', source('imdb', 'title_episode'), ['tconst']) }}
),

renamed as (
    select
        tconst::text as episode_title_id,
        nullif(parent_tconst, '')::text as series_title_id,
        season_number::integer as season_number,
        episode_number::integer as episode_number
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
