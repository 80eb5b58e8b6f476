"""The real Airflow UI on this machine, without a cluster (``make airflow-ui``, the browser tests).

Development tooling only: the Airflow image does not ship this package.
"""
