{#
    Use a model's custom schema as-is (imdb_staging, imdb_intermediate, imdb_marts,
    see CONTRACTS.md) instead of dbt's default "<target schema>_<custom schema>".
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
