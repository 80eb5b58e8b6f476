"""Flask / FAB configuration of the Airflow API server (``[fab] config_file``).

Users log in with FAB's database authentication. ``ImdbSecurityManager`` gives each user listed
in ``dag_permissions.json`` exactly the DAGs listed for them. Where the file is:
``IMDB_DAG_PERMISSIONS_FILE``, else ``DAG_PERMISSIONS_FILE`` below, else
``$AIRFLOW_HOME/dag_permissions.json``.

The Airflow image puts ``imdb_security`` on ``PYTHONPATH``; the chart mounts this file and the
permissions file from a ConfigMap.
"""

from __future__ import annotations

import os

from flask_appbuilder.const import AUTH_DB
from imdb_security import ImdbSecurityManager

AUTH_TYPE = AUTH_DB
SECURITY_MANAGER_CLASS = ImdbSecurityManager

# Flask-WTF CSRF protection for the FAB login and user-management pages.
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

# The default location inside the Airflow image (the chart's ConfigMap is mounted there).
DAG_PERMISSIONS_FILE = os.environ.get(
    "IMDB_DAG_PERMISSIONS_FILE",
    os.path.join(os.environ.get("AIRFLOW_HOME", "/opt/airflow"), "dag_permissions.json"),
)
