{#
    principals.characters is JSON as IMDb writes it (["Rick","Himself"]). Parse it into
    text[] without ever failing the build: text that is not valid JSON, or JSON that
    is not an array, becomes NULL (pg_input_is_valid needs PostgreSQL 16+). The CASE
    guards the cast, so it is only evaluated for valid input.
#}
{% macro json_text_array(column) -%}
    case
        when {{ column }} is not null
            and pg_input_is_valid({{ column }}, 'jsonb')
            and jsonb_typeof({{ column }}::jsonb) = 'array'
        then array(select jsonb_array_elements_text({{ column }}::jsonb))
    end
{%- endmacro %}
