{{
    config(
        indexes=[
            {'columns': ['genre', 'start_year'], 'unique': True},
            {'columns': ['start_year']},
        ]
    )
}}

{#- Episodes are left out: they mostly carry no genres, and a long-running series
    would otherwise weigh hundreds of times in its genre. -#}
with

titles as (
    select * from {{ ref('dim_titles') }}
),

title_genres as (
    select * from {{ ref('bridge_title_genres') }}
),

titles_in_scope as (
    select *
    from titles
    where start_year is not null
        and title_type <> 'tvEpisode'
),

year_totals as (
    select
        start_year,
        count(*) as year_title_count
    from titles_in_scope
    group by start_year
),

genre_years as (
    select
        title_genres.genre,
        titles_in_scope.start_year,
        count(*)::integer as title_count,
        count(titles_in_scope.num_votes)::integer as rated_title_count,
        coalesce(sum(titles_in_scope.num_votes), 0)::bigint as total_votes,
        round(
            sum(titles_in_scope.average_rating * titles_in_scope.num_votes)
            / nullif(sum(titles_in_scope.num_votes), 0),
            2
        ) as vote_weighted_average_rating,
        round(avg(titles_in_scope.weighted_rating), 2) as mean_weighted_rating
    from titles_in_scope
    inner join title_genres
        on titles_in_scope.title_id = title_genres.title_id
    group by title_genres.genre, titles_in_scope.start_year
),

final as (
    select
        genre_years.*,
        round(genre_years.title_count::numeric / year_totals.year_title_count, 4) as share_of_year_titles
    from genre_years
    inner join year_totals
        on genre_years.start_year = year_totals.start_year
)

select * from final
