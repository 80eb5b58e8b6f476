{{
    config(
        indexes=[
            {'columns': ['title_id', 'recommendation_rank'], 'unique': True},
            {'columns': ['recommended_title_id']},
        ]
    )
}}

with

scored_pairs as (
    select * from {{ ref('int_title_pairs_scored') }}
),

ranked as (
    select
        title_id,
        candidate_title_id as recommended_title_id,
        similarity_score,
        reason,
        shared_genres,
        genre_jaccard,
        shared_directors,
        shared_writers,
        shared_cast,
        candidate_weighted_rating as recommended_weighted_rating,
        -- Ties go to the more voted, then the lower id: the same list on every run.
        row_number() over (
            partition by title_id
            order by similarity_score desc, candidate_num_votes desc, candidate_title_id
        )::integer as recommendation_rank
    from scored_pairs
),

top_k as (
    select *
    from ranked
    where recommendation_rank <= {{ var('recommendations_per_title') }}
),

final as (
    select
        title_id,
        recommendation_rank,
        recommended_title_id,
        similarity_score,
        reason,
        shared_genres,
        round(genre_jaccard, 4) as genre_jaccard,
        shared_directors,
        shared_writers,
        shared_cast,
        recommended_weighted_rating
    from top_k
)

select * from final
