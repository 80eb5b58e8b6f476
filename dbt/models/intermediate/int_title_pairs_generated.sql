{#
    Candidate pairs (title, candidate) for recommendations, generated so that the work
    grows about linearly with the number of titles n, never as n^2:

    * People: each director, writer or top-billed cast member links only their
      var max_titles_per_person (P, default 50) most voted recommendable titles.
      A person yields at most P*(P-1) pairs, and a title has at most
      2*max_crew_per_title + top_billed_principals (25) people, so at most 25*(P-1)
      people-based candidates.
    * Genres: a genre like Drama holds a large share of all titles, so pairing inside a
      genre is quadratic. Instead each genre's titles are ordered by start year (then
      votes) and cut into buckets of var genre_bucket_size (B, default 25); titles pair
      only within a bucket. Two bucketings, the second shifted by B/2, make sure the
      B/2 nearest titles on either side are always candidates. That is at most
      3 genres * 2 * (B-1) genre-based candidates per title.

    So each title has at most 25*(P-1) + 6*(B-1) (1,369 with the defaults) candidates
    before scoring, whatever n is. Pairs are directed: (a, b) and (b, a) both appear.
    Adult and non-adult titles are never paired.
#}
with

titles as (
    select * from {{ ref('int_titles_filtered_to_recommendable') }}
),

features as (
    select * from {{ ref('int_title_features_unioned') }}
),

person_titles as (
    select distinct
        feature_value as person_id,
        title_id
    from features
    where feature_kind <> 'genre'
),

person_titles_capped as (
    select
        person_id,
        title_id
    from (
        select
            person_titles.person_id,
            person_titles.title_id,
            row_number() over (
                partition by person_titles.person_id
                order by titles.num_votes desc, titles.title_id
            ) as title_rank
        from person_titles
        inner join titles
            on person_titles.title_id = titles.title_id
    ) as ranked
    where title_rank <= {{ var('max_titles_per_person') }}
),

pairs_via_people as (
    select
        title.title_id,
        candidate.title_id as candidate_title_id
    from person_titles_capped as title
    inner join person_titles_capped as candidate
        on title.person_id = candidate.person_id
        and title.title_id <> candidate.title_id
),

genre_titles_ranked as (
    select
        features.feature_value as genre,
        features.title_id,
        row_number() over (
            partition by features.feature_value
            order by titles.start_year nulls last, titles.num_votes desc, titles.title_id
        ) - 1 as genre_rank
    from features
    inner join titles
        on features.title_id = titles.title_id
    where features.feature_kind = 'genre'
),

genre_buckets as (
    {%- set bucket_size = var('genre_bucket_size') | int %}
    select genre, title_id, 0 as bucketing, genre_rank / {{ bucket_size }} as bucket
    from genre_titles_ranked
    union all
    select genre, title_id, 1 as bucketing, (genre_rank + {{ bucket_size // 2 }}) / {{ bucket_size }} as bucket
    from genre_titles_ranked
),

pairs_via_genres as (
    select
        title.title_id,
        candidate.title_id as candidate_title_id
    from genre_buckets as title
    inner join genre_buckets as candidate
        on title.genre = candidate.genre
        and title.bucketing = candidate.bucketing
        and title.bucket = candidate.bucket
        and title.title_id <> candidate.title_id
),

unioned as (
    select title_id, candidate_title_id from pairs_via_people
    union
    select title_id, candidate_title_id from pairs_via_genres
),

same_audience as (
    select
        unioned.title_id,
        unioned.candidate_title_id
    from unioned
    inner join titles as title
        on unioned.title_id = title.title_id
    inner join titles as candidate
        on unioned.candidate_title_id = candidate.title_id
    where title.is_adult is not distinct from candidate.is_adult
),

final as (
    select * from same_audience
)

select * from final
