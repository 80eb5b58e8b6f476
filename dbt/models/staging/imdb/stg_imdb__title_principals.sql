with

source as (
    select * from {{ source('imdb', 'title_principals') }}
),

deduplicated as (
    -- One row per key (see macros/deduplicate.sql).
    {{ deduplicate('source', source('imdb', 'title_principals'), ['tconst', 'ordering']) }}
),

renamed as (
    select
        tconst::text as title_id,
        ordering::integer as billing_order,
        nullif(nconst, '')::text as person_id,
        nullif(category, '')::text as category,
        nullif(job, '')::text as job,
        {{ json_text_array('characters') }} as characters
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
