{#
    Freshness of a raw table: the raw tables carry no timestamp, so the loader's audit
    table says when a dataset was last loaded or confirmed unchanged. Used as the
    sources' loaded_at_query; `dataset` is the IMDb name, e.g. title.basics.
#}
{% macro source_loaded_at(dataset) -%}
    select max(finished_at)
    from {{ source('imdb', 'load_runs') }}
    where dataset = '{{ dataset }}'
        and status in ('loaded', 'unchanged')
{%- endmacro %}
