{#
    What two recommendable titles can have in common, one row per
    (title, feature kind, feature value):
      genre    - each genre of the title;
      director - its first var max_crew_per_title directors (title.crew order);
      writer   - its first var max_crew_per_title writers;
      cast     - its top-billed var top_billed_principals actors, actresses or self
                 (title.principals billing order).
    Capping features per title bounds the work per title (see the pairs model).
#}
with

titles as (
    select * from {{ ref('int_titles_filtered_to_recommendable') }}
),

genres as (
    select * from {{ ref('int_title_genres_unnested') }}
),

credits as (
    select * from {{ ref('int_title_credits_unioned') }}
),

genre_features as (
    select
        genres.title_id,
        'genre' as feature_kind,
        genres.genre as feature_value
    from genres
    inner join titles
        on genres.title_id = titles.title_id
),

ranked_credits as (
    select
        credits.title_id,
        credits.person_id,
        case when credits.role in ('actor', 'actress', 'self') then 'cast' else credits.role end
            as feature_kind,
        row_number() over (
            partition by
                credits.title_id,
                case when credits.role in ('actor', 'actress', 'self') then 'cast' else credits.role end
            order by credits.crew_position nulls last, credits.billing_order nulls last, credits.person_id
        ) as position_in_kind
    from titles
    -- Per title, through the raw tables' primary keys: the credits view is the whole
    -- credit set, and recommendable titles are a small share of it. OFFSET 0 keeps
    -- the planner from flattening the subquery, so the title_id filter reaches the view.
    cross join lateral (
        select *
        from credits
        where credits.title_id = titles.title_id
            and credits.role in ('director', 'writer', 'actor', 'actress', 'self')
        offset 0
    ) as credits
),

person_features as (
    -- Actor and actress of the same person on one title collapse into one cast row.
    select distinct
        title_id,
        feature_kind,
        person_id as feature_value
    from ranked_credits
    where
        (feature_kind = 'cast' and position_in_kind <= {{ var('top_billed_principals') }})
        or (feature_kind in ('director', 'writer') and position_in_kind <= {{ var('max_crew_per_title') }})
),

unioned as (
    select * from genre_features
    union all
    select * from person_features
),

final as (
    select * from unioned
)

select * from final
