{#- No WITH: PostgreSQL never flattens a view whose query has CTEs into the query that
    reads it, so the raw table's primary key would be invisible downstream (every
    join and test on the key would sort instead of reading the index). -#}
select
    title_id::text as title_id,
    ordering::integer as aka_ordering,
    nullif(title, '')::text as aka_title,
    nullif(region, '')::text as region,
    nullif(language, '')::text as language,
    -- akas lists are separated by \x02, not by commas (titles contain commas).
    {{ split_list('types', 'chr(2)') }} as aka_types,
    {{ split_list('attributes', 'chr(2)') }} as aka_attributes,
    is_original_title::boolean as is_original_title
-- One row per key (see macros/deduplicate.sql).
from {{ deduplicated(source('imdb', 'title_akas'), ['title_id', 'ordering']) }} as source
