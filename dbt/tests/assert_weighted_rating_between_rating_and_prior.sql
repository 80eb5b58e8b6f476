-- The Bayesian weighted rating always lies between the title's own rating R and its
-- type's mean C (it is a convex combination of the two).
select title_id, average_rating, prior_mean_rating, weighted_rating
from {{ ref('fct_title_ratings') }}
where weighted_rating < least(average_rating, prior_mean_rating) - 0.0001
    or weighted_rating > greatest(average_rating, prior_mean_rating) + 0.0001
