"""Both runners agree on failure: a permanent loader exit code fails at once, the rest retry.

The Kubernetes runner is judged on pod results, through the operator's own ``cleanup``: the
provider's code reads the finished pod back from a Kubernetes API endpoint on 127.0.0.1 that
answers with that pod (the API's JSON), as a cluster's API server would after the pod exited.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from imdb_loader.errors import ExitCode

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
PERMANENT = {ExitCode.BAD_ARGUMENTS, ExitCode.SOURCE_FORMAT_CHANGED, ExitCode.TOO_MANY_REJECTS}


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return bag.dags["imdb_download_and_load_dag"]


def finished_pod(exit_code: int, container: str = "base"):
    """A pod as the API server returns it after its main container exited with ``exit_code``."""
    from kubernetes.client import models as k8s

    terminated = k8s.V1ContainerStateTerminated(exit_code=exit_code, reason="Error" if exit_code else "Completed")
    status = k8s.V1ContainerStatus(
        name=container,
        image="imdb-pipeline-loader:latest",
        image_id="",
        ready=False,
        restart_count=0,
        state=k8s.V1ContainerState(terminated=terminated),
    )
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="imdb-load-title-basics-x", namespace="imdb"),
        status=k8s.V1PodStatus(phase="Failed" if exit_code else "Succeeded", container_statuses=[status]),
    )


class PodApi:
    """The two pod calls ``cleanup`` makes (read the pod, label it checked), answering with ``pod``."""

    def __init__(self) -> None:
        self.pod: dict[str, Any] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = json.dumps(api.pod).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer()

            def do_PATCH(self) -> None:
                self._answer()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "local", "cluster": {"server": self.url}}],
                    "users": [{"name": "local", "user": {"token": "not-a-secret"}}],
                    "contexts": [{"name": "local", "context": {"cluster": "local", "user": "local"}}],
                    "current-context": "local",
                }
            )
        )
        return path


@pytest.fixture(scope="module")
def pod_api(tmp_path_factory) -> Iterator[PodApi]:
    api = PodApi()
    thread = threading.Thread(target=api.httpd.serve_forever, daemon=True)
    thread.start()
    api.config_file = api.kubeconfig(tmp_path_factory.mktemp("kube") / "config")
    yield api
    api.httpd.shutdown()
    api.httpd.server_close()


def finished_task(dag, task_id: str, pod_api: PodApi, exit_code: int):
    """``task_id``'s operator, pointed at ``pod_api``, and the pod that API now reports."""
    from kubernetes.client import ApiClient

    task = dag.get_task(task_id)
    task.config_file = str(pod_api.config_file)
    task.on_finish_action = "keep_pod"  # the finished pod is kept: no delete call
    task.log_events_on_failure = False
    for cached in ("hook", "client", "pod_manager"):
        task.__dict__.pop(cached, None)
    pod = finished_pod(exit_code)
    pod.spec = task.build_pod_request_obj(None, dry_run=True).spec
    pod_api.pod = ApiClient().sanitize_for_serialization(pod)
    return task, pod


def test_the_permanent_codes_are_the_loaders_own_constants():
    from imdb_pipeline.jobs import PERMANENT_LOADER_EXIT_CODES

    assert PERMANENT_LOADER_EXIT_CODES == PERMANENT
    assert all(isinstance(code, ExitCode) for code in PERMANENT_LOADER_EXIT_CODES)
    assert ExitCode.BUSY not in PERMANENT_LOADER_EXIT_CODES


@pytest.mark.parametrize("code", sorted(ExitCode))
def test_pod_failure_is_permanent_only_for_the_permanent_codes(dag, pod_api, code):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    task, pod = finished_task(dag, "load_title_basics", pod_api, int(code))
    if code == ExitCode.OK:
        task.cleanup(pod, pod)
        return
    with pytest.raises(AirflowException) as raised:
        task.cleanup(pod, pod)
    if code in PERMANENT:
        assert raised.type is AirflowFailException, "a permanent loader failure must not be retried"
        assert f"exit code {int(code)}" in str(raised.value)
        assert "title.basics" in str(raised.value)
    else:
        assert raised.type is AirflowException, f"exit code {int(code)} ({code.name}) must stay retryable"


def test_dbt_pod_failures_stay_retryable(dag, pod_api):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    task, pod = finished_task(dag, "dbt_build", pod_api, int(ExitCode.BAD_ARGUMENTS))
    with pytest.raises(AirflowException) as raised:
        task.cleanup(pod, pod)
    assert raised.type is not AirflowFailException


def test_exit_code_of_a_pod_still_running_is_unknown():
    from imdb_pipeline.kubernetes import container_exit_code
    from kubernetes.client import models as k8s

    running = k8s.V1Pod(status=k8s.V1PodStatus(phase="Running", container_statuses=[]))
    assert container_exit_code(running, "base") is None
    assert container_exit_code(None, "base") is None
    assert container_exit_code(finished_pod(5, container="airflow-xcom-sidecar"), "base") is None
