{{
    config(
        indexes=[
            {'columns': ['title_id', 'person_id', 'role'], 'unique': True},
            {'columns': ['person_id']},
        ],
        post_hook=[
            "create statistics on title_id, person_id from {{ this }}",
            "analyze {{ this }}",
        ],
    )
}}
{#- The statistics tell the planner that (title_id, person_id) is nearly unique. Without
    them it guesses a tenth of the rows for person_filmography's GROUP BY and picks a
    plan that aggregates the whole bridge once per parallel worker. -#}

with

credits as (
    select * from {{ ref('int_title_credits_unioned') }}
),

titles as (
    select * from {{ ref('stg_imdb__titles') }}
),

people as (
    select * from {{ ref('stg_imdb__names') }}
),

resolved as (
    -- IMDb's files reference titles and people that are not in title.basics or
    -- name.basics (removed or not yet published). A bridge row must join both ways,
    -- so those credits are left out here (staging reports them as warnings).
    select credits.*
    from credits
    inner join titles
        on credits.title_id = titles.title_id
    inner join people
        on credits.person_id = people.person_id
),

final as (
    select
        title_id,
        person_id,
        role,
        billing_order,
        crew_position,
        job,
        characters,
        is_principal,
        is_in_crew
    from resolved
)

select * from final
