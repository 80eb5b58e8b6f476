with

source as (
    select * from {{ source('imdb', 'title_akas') }}
),

deduplicated as (
    -- One row per key (see macros/deduplicate.sql).
    {{ deduplicate('source', source('imdb', 'title_akas'), ['title_id', 'ordering']) }}
),

renamed as (
    select
        title_id::text as title_id,
        ordering::integer as aka_ordering,
        nullif(title, '')::text as aka_title,
        nullif(region, '')::text as region,
        nullif(language, '')::text as language,
        -- akas lists are separated by \x02, not by commas (titles contain commas).
        {{ split_list('types', 'chr(2)') }} as aka_types,
        {{ split_list('attributes', 'chr(2)') }} as aka_attributes,
        is_original_title::boolean as is_original_title
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
