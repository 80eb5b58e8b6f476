{{
    config(
        indexes=[
            {'columns': ['title_id'], 'unique': True},
            {'columns': ['title_type', 'num_votes']},
            {'columns': ['series_title_id']},
        ]
    )
}}

with

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

ratings as (
    select * from {{ ref('int_title_ratings_weighted') }}
),

episodes as (
    select * from {{ ref('int_episodes_joined_to_series') }}
),

series_episode_counts as (
    select
        series_title_id,
        count(*)::integer as episode_count,
        count(distinct season_number)::integer as season_count
    from episodes
    group by series_title_id
),

joined as (
    select
        titles.title_id,
        titles.title_type,
        titles.primary_title,
        titles.original_title,
        titles.is_adult,
        titles.start_year,
        titles.end_year,
        titles.runtime_minutes,
        titles.genres,
        ratings.average_rating,
        ratings.num_votes,
        ratings.weighted_rating,
        episodes.series_title_id,
        episodes.season_number,
        episodes.episode_number,
        series_episode_counts.episode_count,
        series_episode_counts.season_count
    from titles
    left join ratings
        on titles.title_id = ratings.title_id
    left join episodes
        on titles.title_id = episodes.episode_title_id
    left join series_episode_counts
        on titles.title_id = series_episode_counts.series_title_id
),

final as (
    select * from joined
)

select * from final
