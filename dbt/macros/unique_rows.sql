{#
    The rows of `relation` whose `columns` repeat: one row per repeated combination, with
    how often it occurs. Used by the generic tests unique and unique_combination_of_columns.

    Three ways, all exact:
    * The relation has a unique index on exactly these columns and every one of them is
      NOT NULL (the loader's primary keys on the raw tables): the catalog proves that no
      combination repeats, so nothing is read.
    * The relation has such a unique index but a column may be NULL (every mart's key): the
      index already refuses a second row with the same values, except where a value is
      NULL (a unique index lets NULLs repeat). So only rows with a NULL in one of the
      columns are grouped: a scan, without hashing or sorting the whole table.
    * Otherwise a window over the combination instead of GROUP BY ... HAVING: the planner
      feeds a window from any index that gives the order, such as the raw table's primary
      key behind a staging view, and streams it. GROUP BY would hash instead, from a row
      estimate that is far too low for keys repeated nowhere, and spill to disk.
#}
{% macro unique_rows(relation, columns) -%}
    {%- set columns_csv = columns | join(', ') -%}
    {%- if has_unique_key(relation, columns) and all_not_null(relation, columns) %}
    -- {{ relation }} has a unique index on ({{ columns_csv }}) and none of them can be NULL.
    select {{ columns_csv }}, count(*) as occurrences
    from {{ relation }}
    where false
    group by {{ columns_csv }}
    {%- elif has_unique_key(relation, columns) %}
    select {{ columns_csv }}, count(*) as occurrences
    from {{ relation }}
    where {% for column in columns %}{{ column }} is null{{ " or " if not loop.last }}{% endfor %}
    group by {{ columns_csv }}
    having count(*) > 1
    {%- else %}
    select distinct {{ columns_csv }}, occurrences
    from (
        select {{ columns_csv }}, count(*) over (partition by {{ columns_csv }}) as occurrences
        from {{ relation }}
    ) as counted
    where occurrences > 1
    {%- endif %}
{%- endmacro %}


{#- dbt's built-in unique test, on the same terms; NULLs are not_null's business, as in dbt's. -#}
{% macro default__test_unique(model, column_name) %}
    select * from ({{ unique_rows(model, [column_name]) }}) as repeated
    where {{ column_name }} is not null
{% endmacro %}


{% macro all_not_null(relation, columns) -%}
    {#- True when every one of `columns` of `relation` is declared NOT NULL. -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set query -%}
        select count(*)
        from pg_attribute
        where attrelid = to_regclass('{{ relation }}')
            and attname in ({% for column in columns %}'{{ column }}'{{ ", " if not loop.last }}{% endfor %})
            and attnotnull
            and not attisdropped
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {{ return(result.columns[0].values()[0] == columns | length) }}
{%- endmacro %}
