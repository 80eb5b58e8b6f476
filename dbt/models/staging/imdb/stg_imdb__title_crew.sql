with

source as (
    select * from {{ source('imdb', 'title_crew') }}
),

deduplicated as (
    -- One row per key, the same one on every run (ties broken on the whole row's text).
    select distinct on (tconst) *
    from source
    order by tconst, source::text
),

renamed as (
    select
        tconst::text as title_id,
        {{ split_list('directors') }} as director_ids,
        {{ split_list('writers') }} as writer_ids
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
