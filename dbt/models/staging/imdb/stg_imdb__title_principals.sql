{#- No WITH: PostgreSQL never flattens a view whose query has CTEs into the query that
    reads it, so the raw table's primary key would be invisible downstream (every
    join and test on the key would sort instead of reading the index). -#}
select
    tconst::text as title_id,
    ordering::integer as billing_order,
    -- Not nullif'ed like the other columns: as the bare column, a filter on person_id
    -- reaches the loader's (nconst, tconst, category) index, which the bridge_title_people
    -- and person_filmography views need to find one person's credits. An empty nconst is
    -- a reference to no one: int_references_unmatched lists it like any unknown id.
    nconst::text as person_id,
    nullif(category, '')::text as category,
    nullif(job, '')::text as job,
    {{ json_text_array('characters') }} as characters
-- One row per key (see macros/deduplicate.sql).
from {{ deduplicated(source('imdb', 'title_principals'), ['tconst', 'ordering']) }} as source
