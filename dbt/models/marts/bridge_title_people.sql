{{
    config(
        indexes=[
            {'columns': ['title_id', 'person_id', 'role'], 'unique': True},
            {'columns': ['person_id']},
        ],
        pre_hook=[
            "set local maintenance_work_mem = '{{ var('bridge_index_maintenance_work_mem') }}'",
        ],
        post_hook=[
            "create statistics on title_id, person_id from {{ this }}",
            "analyze {{ this }}",
        ],
    )
}}
{#- The statistics tell the planner that (title_id, person_id) is nearly unique. Without
    them it guesses a tenth of the rows for person_filmography's GROUP BY and picks a
    plan that aggregates the whole bridge once per parallel worker.
    Two indexes: the key, which serves "who is in this title", and person_id, which serves
    "which titles has this person been in" through the person_filmography view.
    Both index builds sort the whole credit set (129 M rows at IMDb's size). SET LOCAL
    gives them var bridge_index_maintenance_work_mem for this model's transaction only
    (dbt runs the pre-hook, the CREATE TABLE and both CREATE INDEX in one transaction):
    measured at 0.05 with memory scaled down 20x to mimic 1.0 (12.8 MB vs 51 MB, i.e. the
    chart's 256 MB vs 1 GB), the two builds took 30.8 s vs 18.2 s. -#}

select
    credits.title_id,
    credits.person_id,
    credits.role,
    credits.billing_order,
    credits.crew_position,
    credits.job,
    credits.characters,
    credits.is_principal,
    credits.is_in_crew
from {{ ref('int_title_credits_unioned') }} as credits
-- IMDb's files reference titles and people that are not in title.basics or
-- name.basics (removed or not yet published). A bridge row must join both ways, so
-- those credits are left out here: an anti join against the few ids that
-- int_references_unmatched lists (assert_imdb_references_are_known warns about them).
where not exists (
        select from {{ ref('int_references_unmatched') }} as unmatched
        where unmatched.referenced_id = credits.title_id
    )
    and not exists (
        select from {{ ref('int_references_unmatched') }} as unmatched
        where unmatched.referenced_id = credits.person_id
    )
