{{
    config(
        indexes=[
            {'columns': ['title_id'], 'unique': True},
            {'columns': ['title_type', 'weighted_rating']},
        ]
    )
}}

with

ratings as (
    select * from {{ ref('int_title_ratings_weighted') }}
),

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

load_runs as (
    select * from {{ source('imdb', 'load_runs') }}
),

ratings_loaded as (
    -- When the ratings were last loaded (or confirmed unchanged) from IMDb.
    select max(finished_at) as ratings_loaded_at
    from load_runs
    where dataset = 'title.ratings'
        and status in ('loaded', 'unchanged')
),

joined as (
    select
        ratings.title_id,
        ratings.title_type,
        titles.start_year,
        ratings.average_rating,
        ratings.num_votes,
        ratings.prior_mean_rating,
        ratings.prior_votes,
        ratings.weighted_rating,
        rank() over (
            partition by ratings.title_type
            order by ratings.weighted_rating desc
        )::integer as weighted_rank_in_title_type,
        ratings_loaded.ratings_loaded_at
    from ratings
    inner join titles
        on ratings.title_id = titles.title_id
    cross join ratings_loaded
),

final as (
    select * from joined
)

select * from final
