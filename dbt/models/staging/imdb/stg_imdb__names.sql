{#- No WITH: PostgreSQL never flattens a view whose query has CTEs into the query that
    reads it, so the raw table's primary key would be invisible downstream (every
    join and test on the key would sort instead of reading the index). -#}
select
    nconst::text as person_id,
    nullif(primary_name, '')::text as primary_name,
    birth_year::integer as birth_year,
    death_year::integer as death_year,
    {{ split_list('primary_profession') }} as primary_professions,
    {{ split_list('known_for_titles') }} as known_for_title_ids
-- One row per key (see macros/deduplicate.sql).
from {{ deduplicated(source('imdb', 'name_basics'), ['nconst']) }} as source
