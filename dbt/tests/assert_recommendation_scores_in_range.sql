-- Scores are weighted means of signals in [0, 1], and ranks run 1..K by falling score.
with

recommendations as (
    select * from {{ ref('title_recommendations') }}
),

out_of_range as (
    select title_id, recommendation_rank, 'score outside [0, 1]' as problem
    from recommendations
    where similarity_score < 0 or similarity_score > 1
),

bad_rank as (
    select title_id, recommendation_rank, 'rank outside 1..K' as problem
    from recommendations
    where recommendation_rank < 1 or recommendation_rank > {{ var('recommendations_per_title') }}
),

not_descending as (
    select later.title_id, later.recommendation_rank, 'score higher than a better rank' as problem
    from recommendations as later
    inner join recommendations as earlier
        on later.title_id = earlier.title_id
        and later.recommendation_rank = earlier.recommendation_rank + 1
    where later.similarity_score > earlier.similarity_score
)

select * from out_of_range
union all
select * from bad_rank
union all
select * from not_descending
