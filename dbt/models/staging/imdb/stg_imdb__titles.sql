with

source as (
    select * from {{ source('imdb', 'title_basics') }}
),

deduplicated as (
    -- The loader keeps tconst unique, but a view must not rely on that: one row per
    -- key, the same one on every run (ties broken on the whole row's text).
    select distinct on (tconst) *
    from source
    order by tconst, source::text
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
