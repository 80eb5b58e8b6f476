with

source as (
    select * from {{ source('imdb', 'name_basics') }}
),

deduplicated as (
    -- One row per key (see macros/deduplicate.sql).
    {{ deduplicate('source', source('imdb', 'name_basics'), ['nconst']) }}
),

renamed as (
    select
        nconst::text as person_id,
        nullif(primary_name, '')::text as primary_name,
        birth_year::integer as birth_year,
        death_year::integer as death_year,
        {{ split_list('primary_profession') }} as primary_professions,
        {{ split_list('known_for_titles') }} as known_for_title_ids
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
