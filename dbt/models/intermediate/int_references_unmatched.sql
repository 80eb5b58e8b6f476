{#- enable_hashagg off (SET LOCAL, this model's transaction only): the planner guesses far
    too few people in title.principals and hashes them, spilling at IMDb's size; in order
    from the loader's nconst index they stream (14.7 s instead of 23.4 s at scale 0.2). -#}
{{
    config(
        indexes=[{'columns': ['referenced_id']}],
        pre_hook=["set local enable_hashagg = off"],
    )
}}
{#
    The ids that an IMDb file references and the basics files do not have:
      - titles of title.principals or title.crew missing from title.basics;
      - people of title.principals, or named in title.crew's directors and writers,
        missing from name.basics;
      - name.basics' knownForTitles missing from title.basics.
    IMDb's files really do hold such references (removed or unpublished entries): a few
    thousand against a hundred million credits.

    Found once, here, as a small table, so that:
      - bridge_title_people drops the credits that cannot join both ways with an anti
        join against these few rows, instead of two semi joins that carry every wide
        credit row through a hash of all titles and all people (measured at scale 0.2:
        the bridge's SELECT took 72.7 s instead of 115.6 s, with the same rows);
      - the warnings about such references are one test of this table
        (assert_imdb_references_are_known), instead of four relationships tests that each
        re-read a raw table or the known-for view (128 s of the build at scale 0.2).
    The bridge_title_people view probes it for every credit it returns, hence the index
    on referenced_id. Every part reads only narrow columns: the credit files' titles
    through the raw tables' primary keys, the people and known-for titles as bare ids.
#}

with

principals_titles as (
    -- In title_id order from the raw table's primary key: one row per title.
    select distinct title_id from {{ ref('stg_imdb__title_principals') }}
),

crew_titles as (
    select title_id from {{ ref('stg_imdb__title_crew') }}
),

principals_people as (
    -- Distinct, from an index-only scan of the loader's (nconst, tconst, category) index:
    -- a few million people instead of a hundred million credits reach the anti join.
    select distinct person_id from {{ ref('stg_imdb__title_principals') }}
    where person_id is not null
),

crew_people as (
    -- Unnested here, not read from int_title_crew_unnested: that table is the build's
    -- longest node, and waiting for it would chain the two instead of running them side
    -- by side (a bare list of ids costs little to unnest again).
    select unnest(director_ids) as person_id from {{ ref('stg_imdb__title_crew') }}
    union all
    select unnest(writer_ids) from {{ ref('stg_imdb__title_crew') }}
),

known_for_titles as (
    select unnest(known_for_title_ids) as title_id from {{ ref('stg_imdb__names') }}
),

referenced_titles as (
    select title_id, 'title.principals' as referenced_in from principals_titles
    union all
    select title_id, 'title.crew' from crew_titles
    union all
    select title_id, 'name.basics' from known_for_titles
),

referenced_people as (
    select person_id, 'title.principals' as referenced_in from principals_people
    union all
    select person_id, 'title.crew' from crew_people
),

unmatched_titles as (
    select
        referenced_titles.title_id as referenced_id,
        referenced_titles.referenced_in,
        'title.basics' as missing_from
    from referenced_titles
    where not exists (
        select from {{ ref('stg_imdb__titles') }} as titles
        where titles.title_id = referenced_titles.title_id
    )
),

unmatched_people as (
    select
        referenced_people.person_id as referenced_id,
        referenced_people.referenced_in,
        'name.basics' as missing_from
    from referenced_people
    where not exists (
        select from {{ ref('stg_imdb__names') }} as people
        where people.person_id = referenced_people.person_id
    )
),

final as (
    -- An anti join first, DISTINCT after: only the few unmatched ids are de-duplicated.
    select distinct referenced_id, referenced_in, missing_from from unmatched_titles
    union all
    select distinct referenced_id, referenced_in, missing_from from unmatched_people
)

select * from final
