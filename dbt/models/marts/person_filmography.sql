{#
    A view over bridge_title_people, not a table: stored, it was the largest table of the
    project (a second copy of the whole credit set, wider than the bridge) and the
    slowest node of the build. Queried for one person, as it is meant to be, the person_id
    filter reaches the grouped subquery and the bridge's person_id index: milliseconds.
    Written without WITH so that the filter gets there.
    Its grain is the GROUP BY below; its people and titles are the bridge's (tested
    there) joined with dim_titles, so its own tests only check the key is never NULL.
#}
{{ config(materialized='view') }}

select
    credits.person_id,
    credits.title_id,
    credits.roles,
    credits.best_billing_order,
    credits.characters,
    titles.primary_title,
    titles.title_type,
    titles.start_year,
    titles.average_rating,
    titles.num_votes,
    titles.weighted_rating,
    -- name.basics' knownForTitles, as int_person_known_for_unnested lists them.
    coalesce(credits.title_id = any(people.known_for_title_ids), false) as is_known_for
from (
    -- One row per person and title, whatever the number of roles they had on it.
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
    from {{ ref('bridge_title_people') }}
    group by person_id, title_id
) as credits
inner join {{ ref('dim_titles') }} as titles
    on credits.title_id = titles.title_id
-- Every person in the bridge is in name.basics (the bridge keeps only those).
inner join {{ ref('stg_imdb__names') }} as people
    on credits.person_id = people.person_id
