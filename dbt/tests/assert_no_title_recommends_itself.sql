-- A title must never be its own recommendation.
select title_id, recommendation_rank, recommended_title_id
from {{ ref('title_recommendations') }}
where title_id = recommended_title_id
