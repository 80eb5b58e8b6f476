{#
    IMDb list columns are raw text ("Drama,Comedy"; akas use \x02). Turn one into a
    text[]: NULL or '' becomes NULL, and empty items ("a,,b") are dropped.
    `separator` is a SQL expression, e.g. "','" or "chr(2)".
#}
{% macro split_list(column, separator="','") -%}
    array_remove(string_to_array(nullif({{ column }}, ''), {{ separator }}), '')
{%- endmacro %}
