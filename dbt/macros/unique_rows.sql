{#
    The rows of `relation` whose `columns` repeat: one row per repeated combination, with
    how often it occurs. Used by the generic tests unique and unique_combination_of_columns.

    Two ways, both exact:
    * The relation has a unique index on exactly these columns (every mart's key): the
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
    {%- if has_unique_key(relation, columns) %}
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
