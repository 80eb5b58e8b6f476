{#- No WITH: PostgreSQL never flattens a view whose query has CTEs into the query that
    reads it, so the raw table's primary key would be invisible downstream (every
    join and test on the key would sort instead of reading the index). -#}
select
    tconst::text as title_id,
    nullif(title_type, '')::text as title_type,
    nullif(primary_title, '')::text as primary_title,
    nullif(original_title, '')::text as original_title,
    is_adult::boolean as is_adult,
    start_year::integer as start_year,
    end_year::integer as end_year,
    runtime_minutes::integer as runtime_minutes,
    {{ split_list('genres') }} as genres
-- One row per key (see macros/deduplicate.sql).
from {{ deduplicated(source('imdb', 'title_basics'), ['tconst']) }} as source
