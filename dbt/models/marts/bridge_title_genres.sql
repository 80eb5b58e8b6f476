{{
    config(
        indexes=[
            {'columns': ['title_id', 'genre'], 'unique': True},
            {'columns': ['genre']},
        ]
    )
}}

with

title_genres as (
    select * from {{ ref('int_title_genres_unnested') }}
),

final as (
    select
        title_id,
        genre,
        genre_position
    from title_genres
)

select * from final
