"""Print, as JSON, the pods the DAG builds for the given tasks: what Kubernetes would be sent.

Run by tests/containers/test_pods.py in its own process, so the Airflow settings below never
leak into the test session. Settings come from the environment, as in the image (IMDB_*).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "imdb_download_and_load_dag"


def main(task_ids: list[str]) -> None:
    home = tempfile.mkdtemp(prefix="imdb-render-pods-")
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            "IMDB_PIPELINE_RUNNER": "kubernetes",
        }
    )
    sys.path.insert(0, str(REPO_ROOT / "dags"))
    from airflow.dag_processing.dagbag import DagBag
    from kubernetes.client import ApiClient

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    if bag.import_errors:
        sys.exit(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[DAG_ID]
    client = ApiClient()
    pods = {
        t: client.sanitize_for_serialization(dag.get_task(t).build_pod_request_obj(None, dry_run=True))
        for t in task_ids
    }
    json.dump(pods, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
