{#
    The Bayesian weighted rating WR = v/(v+m)*R + m/(v+m)*C:
    R = the title's average rating, v = its votes, C = the mean rating of its peers,
    m = the votes at which a title's own rating and C weigh the same.
    With few votes WR stays near C; with many it tends to R.
#}
{% macro bayesian_average(rating, votes, prior_mean, prior_votes) -%}
    (
        {{ votes }}::numeric / nullif({{ votes }} + {{ prior_votes }}, 0) * {{ rating }}
        + {{ prior_votes }}::numeric / nullif({{ votes }} + {{ prior_votes }}, 0) * {{ prior_mean }}
    )
{%- endmacro %}
