{#
    Generic test: the combination of `combination_of_columns` is unique (a composite
    primary key). Fails with one row per duplicated combination. See unique_rows() for
    how it reads the model.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ unique_rows(model, combination_of_columns) }}
{% endtest %}
