-- Every recommended title is a known title that takes part in recommendations
-- (enough votes, allowed type), and shares its adult flag with the title.
with

recommendations as (
    select * from {{ ref('title_recommendations') }}
),

recommendable as (
    select * from {{ ref('int_titles_filtered_to_recommendable') }}
),

titles as (
    select * from {{ ref('dim_titles') }}
)

select recommendations.title_id, recommendations.recommended_title_id
from recommendations
left join recommendable
    on recommendations.recommended_title_id = recommendable.title_id
left join titles as recommended
    on recommendations.recommended_title_id = recommended.title_id
left join titles as title
    on recommendations.title_id = title.title_id
where recommendable.title_id is null
    or recommended.title_id is null
    or title.is_adult is distinct from recommended.is_adult
