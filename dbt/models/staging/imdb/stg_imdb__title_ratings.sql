with

source as (
    select * from {{ source('imdb', 'title_ratings') }}
),

deduplicated as (
    -- One row per key (see macros/deduplicate.sql).
    {{ deduplicate('source', source('imdb', 'title_ratings'), ['tconst']) }}
),

renamed as (
    select
        tconst::text as title_id,
        average_rating::numeric(3, 1) as average_rating,
        num_votes::integer as num_votes
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
