with

source as (
    select * from {{ source('imdb', 'title_crew') }}
),

deduplicated as (
    -- One row per key (see macros/deduplicate.sql).
    {{ deduplicate('source', source('imdb', 'title_crew'), ['tconst']) }}
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
