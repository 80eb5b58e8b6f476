{#- A view: bridge_title_genres stores these rows (and tests their grain with its unique
    index), and int_title_features_unioned reads them only for the recommendable titles.
    As a table it was a second copy of the mart (1.2 GB and 34 s at IMDb's size), sorted
    for its DISTINCT ON and again for its own uniqueness test. -#}
{{ config(materialized='view') }}

with

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

unnested as (
    select
        titles.title_id,
        title_genre.genre,
        title_genre.genre_position::integer as genre_position,
        titles.genres
    from titles
    cross join lateral unnest(titles.genres) with ordinality as title_genre (genre, genre_position)
),

deduplicated as (
    -- "Drama,Drama" would otherwise break the (title_id, genre) grain: a genre listed twice
    -- keeps its first position, found per row instead of by sorting every pair.
    select
        title_id,
        genre,
        genre_position
    from unnested
    where genre_position = array_position(genres, genre)
),

final as (
    select * from deduplicated
)

select * from final
