{#- No WITH: PostgreSQL never flattens a view whose query has CTEs into the query that
    reads it, so the raw table's primary key would be invisible downstream (every
    join and test on the key would sort instead of reading the index). -#}
select
    tconst::text as title_id,
    {{ split_list('directors') }} as director_ids,
    {{ split_list('writers') }} as writer_ids
-- One row per key (see macros/deduplicate.sql).
from {{ deduplicated(source('imdb', 'title_crew'), ['tconst']) }} as source
