with

source as (
    select * from {{ source('imdb', 'title_basics') }}
),

deduplicated as (
    -- One row per key (see macros/deduplicate.sql).
    {{ deduplicate('source', source('imdb', 'title_basics'), ['tconst']) }}
),

renamed as (
    select
        tconst::text as title_id,
        nullif(title_type, '')::text as title_type,
        nullif(primary_title, '')::text as primary_title,
        nullif(original_title, '')::text as original_title,
        is_adult::boolean as is_adult,
        start_year::integer as start_year,
        end_year::integer as end_year,
        runtime_minutes::integer as runtime_minutes,
        {{ split_list('genres') }} as genres
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
