with

source as (
    select * from {{ source('imdb', 'title_ratings') }}
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
        average_rating::numeric(3, 1) as average_rating,
        num_votes::integer as num_votes
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
