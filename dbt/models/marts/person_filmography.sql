{{
    config(
        indexes=[
            {'columns': ['person_id', 'title_id'], 'unique': True},
        ]
    )
}}
{#- One index: the key. It serves "a person's titles" (a person has at most a few
    thousand, so ordering them by year afterwards is immediate), and being unique it
    proves the grain, so the uniqueness test reads no more than the rows with a NULL.
    Titles -> people is bridge_title_people's job; each extra index on this many rows
    costs about as much as building the table. -#}

with

credits as (
    select * from {{ ref('bridge_title_people') }}
),

titles as (
    select * from {{ ref('dim_titles') }}
),

known_for as (
    select * from {{ ref('int_person_known_for_unnested') }}
),

credits_per_title as (
    -- One row per person and title, whatever the number of roles they had on it. Grouped
    -- title first: the bridge's unique index (title_id, person_id, role) then delivers the
    -- rows in group order, and the aggregate streams without sorting the bridge.
    -- (No window for a "position in filmography": sorting millions of wide rows costs
    -- more than it serves; the (person_id, start_year) index gives that order.)
    select
        person_id,
        title_id,
        array_agg(role order by role) as roles,
        min(billing_order) as best_billing_order,
        -- The characters of the best billed credit that names any. Aggregated as text
        -- because arrays of different lengths cannot be aggregated into one array.
        (
            array_agg(characters::text order by billing_order nulls last, role)
                filter (where characters is not null)
        )[1]::text[] as characters
    from credits
    group by title_id, person_id
),

joined as (
    select
        credits_per_title.person_id,
        credits_per_title.title_id,
        credits_per_title.roles,
        credits_per_title.best_billing_order,
        credits_per_title.characters,
        titles.primary_title,
        titles.title_type,
        titles.start_year,
        titles.average_rating,
        titles.num_votes,
        titles.weighted_rating,
        known_for.title_id is not null as is_known_for
    from credits_per_title
    inner join titles
        on credits_per_title.title_id = titles.title_id
    left join known_for
        on credits_per_title.person_id = known_for.person_id
        and credits_per_title.title_id = known_for.title_id
),

final as (
    select * from joined
)

select * from final
