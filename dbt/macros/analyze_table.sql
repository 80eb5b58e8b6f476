{#
    The post-hook of every intermediate and mart model: fresh tables have no statistics
    until autovacuum comes by, and without them the planner guesses a tenth of the rows
    for every GROUP BY and picks bad plans downstream. A view has nothing to analyze.
#}
{% macro analyze_table() -%}
    {%- if model.config.materialized == 'view' -%}
        select 1
    {%- else -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
