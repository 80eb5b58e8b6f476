with

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

unnested as (
    select
        titles.title_id,
        title_genre.genre,
        title_genre.genre_position::integer as genre_position
    from titles
    cross join lateral unnest(titles.genres) with ordinality as title_genre (genre, genre_position)
),

deduplicated as (
    -- "Drama,Drama" would otherwise break the (title_id, genre) grain.
    select distinct on (title_id, genre) *
    from unnested
    order by title_id, genre, genre_position
),

final as (
    select * from deduplicated
)

select * from final
