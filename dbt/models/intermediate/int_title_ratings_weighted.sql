{#
    Weighted (Bayesian) rating per rated title:
        WR = v/(v+m)*R + m/(v+m)*C
    computed per title type, because a 500-vote short and a 500-vote movie are not
    equally well known:
        C = mean average_rating of the rated titles of that type;
        m = the var weighted_rating_votes_percentile (default 0.9, the 90th percentile)
            of num_votes among the rated titles of that type. A title needs about as
            many votes as 90% of its peers before its own rating outweighs C.
#}
with

ratings as (
    select * from {{ ref('stg_imdb__title_ratings') }}
),

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

rated_titles as (
    -- Ratings of titles missing from title.basics have no type, so no peers: left out.
    select
        ratings.title_id,
        titles.title_type,
        ratings.average_rating,
        ratings.num_votes
    from ratings
    inner join titles
        on ratings.title_id = titles.title_id
    where ratings.average_rating is not null
        and ratings.num_votes is not null
),

title_type_priors as (
    select
        title_type,
        avg(average_rating) as prior_mean_rating,
        percentile_cont({{ var('weighted_rating_votes_percentile') }})
            within group (order by num_votes)::numeric as prior_votes
    from rated_titles
    group by title_type
),

weighted as (
    select
        rated_titles.title_id,
        rated_titles.title_type,
        rated_titles.average_rating,
        rated_titles.num_votes,
        round(title_type_priors.prior_mean_rating, 4) as prior_mean_rating,
        round(title_type_priors.prior_votes, 1) as prior_votes,
        round(
            {{ bayesian_average(
                'rated_titles.average_rating',
                'rated_titles.num_votes',
                'title_type_priors.prior_mean_rating',
                'title_type_priors.prior_votes'
            ) }},
            4
        ) as weighted_rating
    from rated_titles
    inner join title_type_priors
        on rated_titles.title_type is not distinct from title_type_priors.title_type
),

final as (
    select * from weighted
)

select * from final
