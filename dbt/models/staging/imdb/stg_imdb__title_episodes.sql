{#- No WITH: PostgreSQL never flattens a view whose query has CTEs into the query that
    reads it, so the raw table's primary key would be invisible downstream (every
    join and test on the key would sort instead of reading the index). -#}
select
    tconst::text as episode_title_id,
    nullif(parent_tconst, '')::text as series_title_id,
    season_number::integer as season_number,
    episode_number::integer as episode_number
-- One row per key (see macros/deduplicate.sql).
from {{ deduplicated(source('imdb', 'title_episode'), ['tconst']) }} as source
