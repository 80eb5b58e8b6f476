with

episodes as (
    select * from {{ ref('stg_imdb__title_episodes') }}
),

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

joined as (
    select
        episodes.episode_title_id,
        episodes.series_title_id,
        episodes.season_number,
        episodes.episode_number,
        series.primary_title as series_primary_title,
        series.title_type as series_title_type,
        -- Position of the episode in its series, for "next episode" style queries;
        -- episodes without season/episode numbers go last, in id order.
        row_number() over (
            partition by episodes.series_title_id
            order by episodes.season_number nulls last, episodes.episode_number nulls last,
                episodes.episode_title_id
        )::integer as series_episode_sequence
    from episodes
    -- Inner join: an episode whose series is not in title.basics has no hierarchy to join.
    inner join titles as series
        on episodes.series_title_id = series.title_id
),

final as (
    select * from joined
)

select * from final
