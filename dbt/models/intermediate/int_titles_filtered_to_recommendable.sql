{#
    The titles that take part in recommendations, both as "because you watched" and as
    suggestions: at least var recommendation_min_votes votes, and not one of
    var recommendation_excluded_title_types (episodes by default: an episode would
    mostly recommend its own siblings).
#}
with

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

ratings as (
    select * from {{ ref('int_title_ratings_weighted') }}
),

filtered as (
    select
        titles.title_id,
        titles.title_type,
        titles.is_adult,
        titles.start_year,
        ratings.num_votes,
        ratings.weighted_rating
    from titles
    inner join ratings
        on titles.title_id = ratings.title_id
    where ratings.num_votes >= {{ var('recommendation_min_votes') }}
        {%- set excluded = var('recommendation_excluded_title_types') %}
        {%- if excluded %}
        and titles.title_type not in (
            {%- for title_type in excluded %}'{{ title_type }}'{{ ", " if not loop.last }}{% endfor -%}
        )
        {%- endif %}
),

final as (
    select * from filtered
)

select * from final
