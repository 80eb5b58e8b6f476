{#
    Similarity of each candidate pair, in [0, 1]: a weighted mean (weights: var
    recommendation_weights) of five signals, each in [0, 1]:
      genres    - Jaccard index of the two genre sets, shared / (all distinct);
      directors - 1 if they share a director, else 0;
      writers   - 1 if they share a writer, else 0;
      cast      - shared top-billed cast members, counted up to 3, divided by 3;
      rating    - the candidate's weighted rating / 10 (better titles first).
    Plus a short human reason, e.g. "same director, 2 shared genres".
#}
{%- set weights = var('recommendation_weights') %}
{%- set total_weight = (weights.genres + weights.directors + weights.writers + weights.cast + weights.rating) | round(6) %}

with

pairs as (
    select * from {{ ref('int_title_pairs_generated') }}
),

features as (
    select * from {{ ref('int_title_features_unioned') }}
),

titles as (
    select * from {{ ref('int_titles_filtered_to_recommendable') }}
),

genre_counts as (
    select
        title_id,
        count(*) as genre_count
    from features
    where feature_kind = 'genre'
    group by title_id
),

pair_title_features as materialized (
    -- Pairs first, then their features: each pair meets only its own title's few
    -- features. Joining the features table with itself on (kind, value) instead, as
    -- the planner likes to, matches every two titles of a genre: quadratic. The
    -- MATERIALIZED fence keeps this order.
    select
        pairs.title_id,
        pairs.candidate_title_id,
        title_feature.feature_kind,
        title_feature.feature_value
    from pairs
    inner join features as title_feature
        on pairs.title_id = title_feature.title_id
),

shared_features as (
    select
        pair_title_features.title_id,
        pair_title_features.candidate_title_id,
        count(*) filter (where pair_title_features.feature_kind = 'genre') as shared_genres,
        count(*) filter (where pair_title_features.feature_kind = 'director') as shared_directors,
        count(*) filter (where pair_title_features.feature_kind = 'writer') as shared_writers,
        count(*) filter (where pair_title_features.feature_kind = 'cast') as shared_cast
    from pair_title_features
    inner join features as candidate_feature
        on pair_title_features.candidate_title_id = candidate_feature.title_id
        and pair_title_features.feature_kind = candidate_feature.feature_kind
        and pair_title_features.feature_value = candidate_feature.feature_value
    group by pair_title_features.title_id, pair_title_features.candidate_title_id
),

signals as (
    select
        pairs.title_id,
        pairs.candidate_title_id,
        coalesce(shared_features.shared_genres, 0)::integer as shared_genres,
        coalesce(shared_features.shared_directors, 0)::integer as shared_directors,
        coalesce(shared_features.shared_writers, 0)::integer as shared_writers,
        coalesce(shared_features.shared_cast, 0)::integer as shared_cast,
        candidate.weighted_rating as candidate_weighted_rating,
        candidate.num_votes as candidate_num_votes,
        coalesce(
            coalesce(shared_features.shared_genres, 0)::numeric
            / nullif(
                coalesce(title_genres.genre_count, 0) + coalesce(candidate_genres.genre_count, 0)
                - coalesce(shared_features.shared_genres, 0),
                0
            ),
            0
        ) as genre_jaccard
    from pairs
    inner join titles as candidate
        on pairs.candidate_title_id = candidate.title_id
    left join shared_features
        on pairs.title_id = shared_features.title_id
        and pairs.candidate_title_id = shared_features.candidate_title_id
    left join genre_counts as title_genres
        on pairs.title_id = title_genres.title_id
    left join genre_counts as candidate_genres
        on pairs.candidate_title_id = candidate_genres.title_id
),

scored as (
    select
        *,
        round(
            (
                {{ weights.genres }} * genre_jaccard
                + {{ weights.directors }} * least(shared_directors, 1)
                + {{ weights.writers }} * least(shared_writers, 1)
                + {{ weights.cast }} * least(shared_cast, 3) / 3.0
                + {{ weights.rating }} * coalesce(candidate_weighted_rating, 0) / 10.0
            ) / {{ total_weight }},
            4
        ) as similarity_score
    from signals
),

explained as (
    select
        *,
        coalesce(
            nullif(
                concat_ws(
                    ', ',
                    case
                        when shared_directors = 1 then 'same director'
                        when shared_directors > 1 then shared_directors || ' shared directors'
                    end,
                    case
                        when shared_writers = 1 then 'same writer'
                        when shared_writers > 1 then shared_writers || ' shared writers'
                    end,
                    case
                        when shared_cast = 1 then '1 shared cast member'
                        when shared_cast > 1 then shared_cast || ' shared cast members'
                    end,
                    case
                        when shared_genres = 1 then '1 shared genre'
                        when shared_genres > 1 then shared_genres || ' shared genres'
                    end
                ),
                ''
            ),
            -- Paired through a person in another role (the director of one wrote the other).
            'shared crew'
        ) as reason
    from scored
),

final as (
    select * from explained
)

select * from final
