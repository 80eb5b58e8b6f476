"""The pods as Kubernetes would run them, run by `podman kube play` (podman 4.3, no cluster).

The loader pods and the dbt pod are exactly what the DAG sends to Kubernetes
(``build_pod_request_obj(dry_run=True)``, rendered by render_pods.py with the DAG's own
settings pointing at the test images, database and local IMDb); the helm-test pod is the
chart's (``helm template``). What podman needs changed, and only that, is changed and listed:

* ``secretKeyRef``: podman 4.3's kube play did not resolve it from any form of Secret we tried,
  so the app secret's values go into ``env`` (the references themselves stay checked offline,
  tests/airflow/test_airflow_pods.py::test_database_credentials_come_only_from_the_app_secret).
* the xcom sidecar's ``alpine`` image and the chart's PostgreSQL image cannot be pulled here:
  local stand-ins take their place (the python base; psql on it).
* ``kind: Job`` is not accepted by kube play: the helm-test Job's pod template runs as a Pod.

The pods then run on the host's network (``--network host``): they reach 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from imdb_devkit import pg
from imdb_devkit.server import ImdbServer
from imdb_loader.datasets import DATASETS
from tests.conftest import DBT_MARTS
from tests.containers.conftest import REPO_ROOT, Database, Images, new_database, query
from tests.k8s.helpers import render_chart

pytestmark = [pytest.mark.containers, pytest.mark.postgres]

SIDECAR = "airflow-xcom-sidecar"
MAIN = "base"
HELM_TEST_TEMPLATE = "templates/tests/warehouse-test-job.yaml"
POD_TIMEOUT_SECONDS = 600
# What KubernetesPodOperator runs in the sidecar to read the result (PodManager.extract_xcom_json).
STATUS_FIELDS = "^(Uid|CapEff|NoNewPrivs|Seccomp):"
XCOM_READ = "if [ -s /airflow/xcom/return.json ]; then cat /airflow/xcom/return.json; else echo __empty__; fi"

# Fields of our pods that podman cannot honour, why, and where they stay checked offline.
NOT_HONOURED = {
    "spec.serviceAccountName, automountServiceAccountToken": "no API server, so no tokens to mount or withhold"
    " (tests/airflow/test_airflow_pods.py::test_pod_security)",
    "securityContext.runAsNonRoot": "a kubelet admission check; podman runs the uid it is given, which is"
    " checked here to be non-zero (test_pod_security)",
    "securityContext.fsGroup": "podman adds no supplementary group; the emptyDirs are owned by the pod's"
    " uid instead (test_pod_security)",
    "resources.requests": "scheduling only: podman has no scheduler; limits are enforced and checked here"
    " (test_resources_labels_and_image)",
    "volumes[].emptyDir": "podman 4.3 makes a named volume per emptyDir name, without sizeLimit, shared by"
    " pods that run at once (removed by kube down), so the pods run one at a time here (test_pod_security)",
    "env.valueFrom.secretKeyRef": "not resolved by podman 4.3: values put in env"
    " (test_database_credentials_come_only_from_the_app_secret)",
}


@dataclass
class PodRun:
    name: str
    exit_code: int
    logs: str
    xcom: str | None
    sidecar_status: dict[str, str]  # the sidecar's /proc/1/status lines that show its confinement
    inspect: dict[str, Any]
    adapted: list[str]


def _require_podman(images: Images) -> None:
    if images.engine.name != "podman":
        pytest.skip(f"kube play is podman's; the engine here is {images.engine.name}")


def render_dag_pods(images: Images, site: ImdbServer, *task_ids: str) -> dict[str, dict[str, Any]]:
    """The DAG's pods for these tasks, configured the way an operator configures the DAG."""
    env = {
        **os.environ,
        "IMDB_LOADER_IMAGE": images.ref("loader"),
        "IMDB_DBT_IMAGE": images.ref("dbt"),
        "IMDB_BASE_URL": site.base_url,
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("render_pods.py")), *task_ids],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout))


def for_podman(pod: dict[str, Any], secret: dict[str, str], sidecar_image: str) -> tuple[dict[str, Any], list[str]]:
    """The pod with only podman's gaps filled; the list says what was changed."""
    pod = copy.deepcopy(pod)
    adapted = []
    for container in pod["spec"]["containers"]:
        for entry in container.get("env") or []:
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                entry.pop("valueFrom")
                entry["value"] = secret[ref["key"]]
                adapted.append(
                    f"{container['name']}: {entry['name']} from secret {ref['name']}/{ref['key']} as a value"
                )
        if container["name"] == SIDECAR:
            adapted.append(f"{SIDECAR}: image {container['image']} -> {sidecar_image} (stand-in)")
            container["image"] = sidecar_image
    return pod, adapted


def podman(images: Images, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        images.engine.command(*args),
        env=images.engine.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def play(images: Images, pod: dict[str, Any], adapted: list[str], workdir: Path) -> PodRun:
    """kube play the pod, wait for its main container, read the xcom like the operator, tear down."""
    name = pod["metadata"]["name"]
    manifest = workdir / f"{name}.yaml"
    manifest.write_text(yaml.safe_dump(pod), encoding="utf-8")
    main = next(c["name"] for c in pod["spec"]["containers"] if c["name"] != SIDECAR)
    container = f"{name}-{main}"
    try:
        started = podman(images, "kube", "play", "--network", "host", str(manifest))
        assert started.returncode == 0, started.stderr
        waited = podman(images, "wait", container, timeout=POD_TIMEOUT_SECONDS)
        assert waited.returncode == 0, waited.stderr
        logs = podman(images, "logs", container)
        inspect = json.loads(podman(images, "inspect", container).stdout)[0]
        xcom, sidecar_status = None, {}
        if any(c["name"] == SIDECAR for c in pod["spec"]["containers"]):
            xcom = podman(images, "exec", f"{name}-{SIDECAR}", "sh", "-c", XCOM_READ).stdout
            status = podman(images, "exec", f"{name}-{SIDECAR}", "grep", "-E", STATUS_FIELDS, "/proc/1/status")
            sidecar_status = dict(line.split(":\t") for line in status.stdout.splitlines())
            # As the operator ends the sidecar: SIGINT to its shell, which traps it and exits 0.
            podman(images, "exec", f"{name}-{SIDECAR}", "sh", "-c", "kill -INT 1")
        code = int(waited.stdout.strip())
        return PodRun(name, code, logs.stdout + logs.stderr, xcom, sidecar_status, inspect, adapted)
    finally:
        podman(images, "kube", "down", str(manifest))


@pytest.fixture(scope="module")
def warehouse(pg_server: pg.Server) -> Iterator[Database]:
    name, database = new_database(pg_server, "containers_pods")
    yield database
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def dag_pods(images: Images, imdb_site: ImdbServer) -> dict[str, dict[str, Any]]:
    """The pods of the seven loads and of dbt, rendered once."""
    _require_podman(images)
    return render_dag_pods(images, imdb_site, *(ds.task_id for ds in DATASETS), "dbt_build")


@pytest.fixture(scope="module")
def loader_pods(
    images: Images, dag_pods: dict[str, dict[str, Any]], warehouse: Database, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, PodRun]:
    """Every load_<dataset> pod of the DAG, one after another: podman's emptyDirs are named volumes
    (see NOT_HONOURED), so pods running at once would share /airflow/xcom and /tmp."""
    workdir = tmp_path_factory.mktemp("pods")
    sidecar = images.base("PYTHON_IMAGE")["ref"]
    return {
        ds.task_id: play(images, *for_podman(dag_pods[ds.task_id], warehouse.secret, sidecar), workdir)
        for ds in DATASETS
    }


def test_loader_pods_load_their_dataset_and_hand_the_result_to_the_sidecar(loader_pods: dict[str, PodRun]) -> None:
    for dataset in DATASETS:
        run = loader_pods[dataset.task_id]
        assert run.exit_code == 0, f"{dataset.task_id}: exit {run.exit_code}\n{run.logs[-3000:]}"
        assert run.xcom is not None
        result = json.loads(run.xcom)
        assert result["status"] == "loaded", run.xcom
        assert [d["dataset"] for d in result["datasets"]] == [dataset.name]
        assert result["datasets"][0]["rows"] > 0
        # --log-format json: one object per line, as the cluster's log collectors want.
        assert all(json.loads(line)["level"] for line in run.logs.strip().splitlines())
        assert any("swapped in" in json.loads(line)["msg"] for line in run.logs.strip().splitlines())
        assert len(run.adapted) == 6, run.adapted  # five secret values and the sidecar image, nothing else


def test_podman_honours_the_pod_security_fields(loader_pods: dict[str, PodRun]) -> None:
    """What podman enforces is checked on the running container; NOT_HONOURED says the rest."""
    run = loader_pods[DATASETS[0].task_id]
    host = run.inspect["HostConfig"]
    assert run.inspect["Config"]["User"] == "10001:10001"  # runAsUser / runAsGroup
    assert host["ReadonlyRootfs"] is True  # readOnlyRootFilesystem
    assert run.inspect["EffectiveCaps"] in (None, [])  # capabilities.drop: [ALL]
    assert "no-new-privileges" in host["SecurityOpt"]  # allowPrivilegeEscalation: false
    assert host["Privileged"] is False
    assert host["Memory"] == 1024**3 and host["NanoCpus"] == 10**9  # resources.limits 1Gi, 1 CPU
    assert host["RestartPolicy"]["Name"] in ("", "no")  # restartPolicy: Never
    assert host["NetworkMode"] == "host"
    # The sidecar, still running when the result is read, shows the same from the inside; seccomp
    # mode 2 is a filter (podman's default profile, what RuntimeDefault asks for).
    assert run.sidecar_status["Uid"].split() == ["10001"] * 4
    assert run.sidecar_status["CapEff"] == "0000000000000000"
    assert run.sidecar_status["NoNewPrivs"] == "1" and run.sidecar_status["Seccomp"] == "2"
    mounts = {m["Destination"] for m in run.inspect["Mounts"]}
    assert {m["Name"] for m in run.inspect["Mounts"]} == {"tmp", "xcom"}  # named after the volumes: not private
    assert {"/tmp", "/airflow/xcom"} <= mounts  # the emptyDirs  # noqa: S108
    from tests.airflow import test_airflow_pods

    for field, why in NOT_HONOURED.items():
        offline = why.rsplit("(", 1)[-1].rstrip(")").split("::")[-1]
        assert hasattr(test_airflow_pods, offline), f"{field}: the offline check {offline} is gone"
        print(f"not honoured by podman: {field}: {why}")


@pytest.fixture(scope="module")
def dbt_pod(
    images: Images,
    dag_pods: dict[str, dict[str, Any]],
    warehouse: Database,
    loader_pods: dict[str, PodRun],
    tmp_path_factory: pytest.TempPathFactory,
) -> PodRun:
    podded, adapted = for_podman(dag_pods["dbt_build"], warehouse.secret, images.base("PYTHON_IMAGE")["ref"])
    return play(images, podded, adapted, tmp_path_factory.mktemp("dbt-pod"))


def test_dbt_pod_builds_and_checks_freshness(dbt_pod: PodRun, warehouse: Database) -> None:
    assert dbt_pod.exit_code == 0, dbt_pod.logs[-4000:]
    events = [json.loads(line) for line in dbt_pod.logs.splitlines() if line.startswith("{")]
    names = [event["info"]["name"] for event in events]
    # dbt build's closing line (Done. PASS=… ERROR=0 …), then the freshness check's.
    stats = [event["data"]["stats"] for event in events if event["info"]["name"] == "StatsLine"]
    assert len(stats) == 1 and stats[0]["pass"] > 0 and stats[0]["error"] == 0, stats
    assert names.index("StatsLine") < names.index("FreshnessCheckComplete"), names
    assert dbt_pod.inspect["HostConfig"]["ReadonlyRootfs"] is True
    marts = query(warehouse.dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'imdb_marts'")
    assert {name for (name,) in marts} >= DBT_MARTS


def test_helm_test_pod_reaches_the_database(
    images: Images, warehouse: Database, loader_pods: dict[str, PodRun], tmp_path_factory: pytest.TempPathFactory
) -> None:
    (job,) = render_chart(show_only=[HELM_TEST_TEMPLATE])
    real = job["spec"]["template"]["spec"]["containers"][0]["image"]
    python = images.base("PYTHON_IMAGE")["ref"]
    standin = subprocess.run(
        [sys.executable, str(REPO_ROOT / "images" / "standin.py"), "psql", "--for", real, "--python-base", python],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert standin.returncode == 0, standin.stdout[-3000:] + standin.stderr[-3000:]
    repository, tag = standin.stdout.strip().splitlines()[-1].rsplit(":", 1)
    (job,) = render_chart(
        {"images": {"postgres": {"repository": repository, "tag": tag}}}, show_only=[HELM_TEST_TEMPLATE]
    )
    assert job["kind"] == "Job"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",  # kube play rejects kind: Job; its pod template is what the Job would run
        "metadata": {"name": job["metadata"]["name"], **job["spec"]["template"]["metadata"]},
        "spec": job["spec"]["template"]["spec"],
    }
    podded, adapted = for_podman(pod, warehouse.secret, python)
    run = play(
        images, podded, [*adapted, f"image {real} -> {repository}:{tag} (stand-in)"], tmp_path_factory.mktemp("t")
    )
    assert run.exit_code == 0, run.logs
    assert f"datasets_live: {len(DATASETS)} in imdb_raw" in run.logs, run.logs
    assert run.inspect["Config"]["User"].split(":")[0] == str(
        job["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    )
