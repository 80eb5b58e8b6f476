"""Support code for the ``imdb_download_and_load_dag`` DAG.

Airflow puts the DAGs folder on ``sys.path``, so the DAG file imports this package as
``imdb_pipeline``. ``.airflowignore`` keeps the DAG processor from parsing it as DAGs.
"""
