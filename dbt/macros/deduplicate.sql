{#
    Staging keeps one row per key, deterministically. The loader gives every raw table a
    primary key, and then there is nothing to dedupe: sorting millions of rows on their
    full text only to find no duplicate costs minutes at IMDb's size, and the planner's
    guess after a DISTINCT ON (a tenth of the rows) misleads every join downstream.

    So, with var staging_dedupe:
      auto   (default) - dedupe unless the relation has a unique index on exactly
                         `key_columns` (checked in pg_index when the view is built; the
                         loader's swap re-points the views at each new table, which gets
                         the same primary key);
      always / never   - force it (the unit tests use always).
    Deduping keeps the first row per key in the order of the whole row's text, so the
    same input always gives the same output. The result is a FROM item, not a CTE: a
    view with a WITH clause is never flattened into the query reading it, and the raw
    key's index would then be invisible downstream.
#}
{% macro deduplicated(relation, key_columns) -%}
    {#- A FROM item: the relation itself, or a subquery keeping its first row per key. -#}
    {%- set mode = var('staging_dedupe', 'auto') -%}
    {%- if mode not in ('auto', 'always', 'never') -%}
        {{ exceptions.raise_compiler_error("var staging_dedupe must be auto, always or never, not " ~ mode) }}
    {%- endif -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- if mode == 'never' or (mode == 'auto' and has_unique_key(relation, key_columns)) -%}
        {{ relation }}
    {%- else -%}
        (
            select distinct on ({{ keys }}) *
            from {{ relation }} as duplicated
            order by {{ keys }}, duplicated::text
        )
    {%- endif -%}
{%- endmacro %}


{% macro has_unique_key(relation, key_columns) -%}
    {#- True when a unique index covers exactly key_columns (any order). At parse time
        nothing is queried, and the answer does not matter. -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set query -%}
        select count(*)
        from pg_index as i
        where i.indrelid = to_regclass('{{ relation }}')
            and i.indisunique
            and i.indisvalid
            and i.indpred is null
            and i.indexprs is null
            and (
                select array_agg(a.attname::text order by a.attname)
                from pg_attribute as a
                where a.attrelid = i.indrelid
                    and a.attnum = any(i.indkey::smallint[])
            ) = array[{% for column in key_columns | sort %}'{{ column }}'{{ ", " if not loop.last }}{% endfor %}]::text[]
            and cardinality(i.indkey::smallint[]) = {{ key_columns | length }}
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}
