"""The ``kubernetes`` runner: one KubernetesPodOperator per task, all built from one config.

Pod hardening is the same for every pod: non-root, read-only root filesystem with an emptyDir
for /tmp, every capability dropped, seccomp RuntimeDefault, no service-account token. Database
credentials arrive only as ``secretKeyRef`` env vars from the CloudNativePG app secret.

Settings that an Airflow Variable may override (images, namespace, URL, ...) are re-read when
the task starts (``ImdbPodOperator.execute``), never while the DAG file is parsed.

Like the local runner, a loader pod that exits with a permanent loader code fails the task
without retry, and the pods' log lines reach the task log at their own level.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from kubernetes.client import models as k8s  # type: ignore[import-untyped]

from imdb_loader.libpq import PG_ENV
from imdb_pipeline import config as cfg
from imdb_pipeline.jobs import (
    DBT,
    DBT_SCRIPT,
    DBT_TASK_ID,
    POD_RESULT_FILE,
    LoadJob,
    Resources,
    dbt_arguments,
    permanent_load_failure,
)
from imdb_pipeline.logs import parse_line

PART_OF = "imdb-pipeline"
TMP_VOLUME = "tmp"
# The pod's private emptyDir, not a shared host /tmp: safe for dbt's target/ and logs/ and $HOME.
POD_TMP = "/tmp"  # noqa: S108
POD_STARTUP_TIMEOUT_SECONDS = 600  # first pulls of the images on a fresh kind node are slow

# libpq variable -> key of the CloudNativePG app secret, whose keys are libpq's keywords.
DB_SECRET_KEYS = {env: keyword for keyword, env in PG_ENV.items()}


def db_secrets(secret_name: str) -> list[Secret]:
    return [Secret("env", env, secret_name, key) for env, key in DB_SECRET_KEYS.items()]  # type: ignore[no-untyped-call]


def container_resources(res: Resources) -> k8s.V1ResourceRequirements:
    return k8s.V1ResourceRequirements(
        requests={"cpu": res.cpu_request, "memory": res.memory_request},
        limits={"cpu": res.cpu_limit, "memory": res.memory_limit},
    )


def container_security_context() -> k8s.V1SecurityContext:
    return k8s.V1SecurityContext(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )


def pod_security_context(uid: int) -> k8s.V1PodSecurityContext:
    # A numeric uid lets the kubelet prove runAsNonRoot even for the xcom sidecar's alpine image,
    # whose default user is root.
    return k8s.V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        fs_group=uid,
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )


def labels(component: str, task_id: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "airflow",
        "imdb-pipeline/task": task_id.replace("_", "-"),
    }


def common_env(conf: cfg.PipelineConfig) -> list[k8s.V1EnvVar]:
    return [
        k8s.V1EnvVar(name="IMDB_BASE_URL", value=conf.base_url),
        k8s.V1EnvVar(name="IMDB_SCHEMA", value=conf.schema),
        k8s.V1EnvVar(name="PGSSLMODE", value="prefer"),
        k8s.V1EnvVar(name="HOME", value=POD_TMP),
        k8s.V1EnvVar(name="DBT_SEND_ANONYMOUS_USAGE_STATS", value="false"),
    ]


def container_exit_code(pod: k8s.V1Pod | None, container: str) -> int | None:
    """Exit code of ``container`` in a finished pod, or None while it has not terminated."""
    statuses = (pod.status.container_statuses if pod is not None and pod.status else None) or []
    for status in statuses:
        if status.name == container and status.state and status.state.terminated:
            return int(status.state.terminated.exit_code)
    return None


class LevelledPodManager(PodManager):
    """The provider's pod manager, logging each loader or dbt JSON line at the level it carries.

    The provider only recognises a plain ``ERROR:``/``[WARN]`` prefix; our programs write JSON.
    """

    def _log_message(
        self,
        message: str,
        container_name: str,
        container_name_log_prefix_enabled: bool,
        log_formatter: Any,
    ) -> None:
        level, text = parse_line(message)
        if log_formatter:
            text = log_formatter(container_name, text)
        elif container_name_log_prefix_enabled:
            text = f"[{container_name}] {text}"
        self.log.log(level, "%s", text)


class ImdbPodOperator(KubernetesPodOperator):
    """A KubernetesPodOperator whose pod settings are re-read from the config when it runs."""

    def __init__(self, *, component: str, dataset: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.component = component
        self.dataset = dataset

    @cached_property
    def pod_manager(self) -> PodManager:
        return LevelledPodManager(kube_client=self.client, callbacks=self.callbacks)

    def cleanup(
        self,
        pod: k8s.V1Pod,
        remote_pod: k8s.V1Pod,
        xcom_result: dict[str, Any] | None = None,
        context: Any = None,
    ) -> None:
        """The provider's cleanup; a loader's permanent exit code turns its failure into no-retry."""
        try:
            super().cleanup(pod, remote_pod, xcom_result=xcom_result, context=context)
        except AirflowException as exc:
            permanent = self.permanent_failure(remote_pod)
            if permanent:
                raise AirflowFailException(permanent) from exc
            raise

    def permanent_failure(self, remote_pod: k8s.V1Pod | None) -> str | None:
        """Why a finished pod must fail without retry (a loader's permanent exit code), else None."""
        if self.component != "loader" or self.dataset is None:
            return None
        return permanent_load_failure(self.dataset, container_exit_code(remote_pod, self.base_container_name))

    def apply_config(self, conf: cfg.PipelineConfig) -> None:
        """Point the pod at the images, namespace and secret that ``conf`` names."""
        self.image = conf.loader_image if self.component == "loader" else conf.dbt_image
        self.namespace = conf.jobs_namespace
        self.image_pull_policy = conf.image_pull_policy
        self.service_account_name = conf.job_service_account
        self.secrets = db_secrets(conf.db_secret)
        self.env_vars = common_env(conf)
        self.security_context = pod_security_context(conf.job_run_as_user)

    def execute(self, context: Any) -> Any:
        self.apply_config(cfg.load(with_variables=True))
        return super().execute(context)


def _pod_kwargs(conf: cfg.PipelineConfig, component: str, task_id: str, res: Resources) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "name": f"imdb-{task_id.replace('_', '-')}",
        "component": component,
        "namespace": conf.jobs_namespace,
        "image": conf.loader_image if component == "loader" else conf.dbt_image,
        "image_pull_policy": conf.image_pull_policy,
        "service_account_name": conf.job_service_account,
        "automount_service_account_token": False,
        "secrets": db_secrets(conf.db_secret),
        "env_vars": common_env(conf),
        "labels": labels(component, task_id),
        "container_resources": container_resources(res),
        "security_context": pod_security_context(conf.job_run_as_user),
        "container_security_context": container_security_context(),
        "xcom_sidecar_container_security_context": container_security_context(),
        "volumes": [k8s.V1Volume(name=TMP_VOLUME, empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="1Gi"))],
        "volume_mounts": [k8s.V1VolumeMount(name=TMP_VOLUME, mount_path=POD_TMP)],
        "on_finish_action": "delete_pod",
        "get_logs": True,
        "startup_timeout_seconds": POD_STARTUP_TIMEOUT_SECONDS,
        "log_events_on_failure": True,
    }


def load_operator(conf: cfg.PipelineConfig, job: LoadJob, **task_kwargs: Any) -> ImdbPodOperator:
    return ImdbPodOperator(
        **_pod_kwargs(conf, "loader", job.task_id, job.resources),
        dataset=job.dataset.name,
        cmds=["imdb-load"],
        arguments=job.arguments(POD_RESULT_FILE),
        do_xcom_push=True,
        **task_kwargs,
    )


def dbt_operator(conf: cfg.PipelineConfig, **task_kwargs: Any) -> ImdbPodOperator:
    project_dir = conf.dbt_project_dir or cfg.POD_DBT_PROJECT_DIR
    # The image's root filesystem is read-only: dbt's target/ and logs/ go to the /tmp emptyDir.
    flags = dbt_arguments(project_dir, target_path=f"{POD_TMP}/dbt/target", log_path=f"{POD_TMP}/dbt/logs")
    return ImdbPodOperator(
        **_pod_kwargs(conf, "dbt", DBT_TASK_ID, DBT),
        cmds=["/bin/sh", "-c", DBT_SCRIPT],
        arguments=["dbt", *flags],
        do_xcom_push=False,
        **task_kwargs,
    )
