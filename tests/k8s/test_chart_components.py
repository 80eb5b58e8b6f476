"""Rendered objects, one class per component (the official Airflow chart's helm-test style)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.k8s.conftest import EXTRAS_VALUES
from tests.k8s.helpers import CHART_DIR, NAMESPACE, RELEASE, by_kind, one, render_chart, render_error, run_helm

JOB_SELECTOR_COMPONENTS = ["loader", "dbt"]


def string_data(secret: dict[str, Any]) -> dict[str, str]:
    return dict(secret.get("stringData") or {})


class TestWarehouse:
    def test_cluster_defaults(self) -> None:
        cluster = one(
            render_chart(show_only=["templates/warehouse/warehouse-cluster.yaml"]), "Cluster", "imdb-warehouse"
        )
        spec = cluster["spec"]
        assert spec["instances"] == 1
        assert spec["imageName"].startswith("ghcr.io/cloudnative-pg/postgresql:18.")
        assert spec["bootstrap"]["initdb"]["database"] == "imdb"
        assert spec["bootstrap"]["initdb"]["secret"]["name"] == "imdb-warehouse-app"
        assert spec["enablePDB"] is False, "a PDB on one instance blocks node drains"
        assert spec["postgresql"]["parameters"]["max_wal_size"] == "4GB"
        assert all(isinstance(v, str) for v in spec["postgresql"]["parameters"].values())
        assert "backup" not in spec and "walStorage" not in spec

    def test_sizes_and_class_are_configurable(self) -> None:
        values = {"warehouse": {"instances": 3, "storage": {"size": "100Gi", "storageClass": "fast"}}}
        spec = one(render_chart(values), "Cluster", "imdb-warehouse")["spec"]
        assert spec["instances"] == 3 and spec["enablePDB"] is True
        assert spec["storage"] == {"size": "100Gi", "storageClass": "fast"}

    def test_postgres_image_can_be_pinned_by_digest(self) -> None:
        tag = "18.6-standard-trixie@sha256:" + "b" * 64
        objects = render_chart({"images": {"postgres": {"tag": tag}}})
        assert one(objects, "Cluster", "imdb-warehouse")["spec"]["imageName"].endswith(tag)
        assert "/images/postgres/tag" in render_error({"images": {"postgres": {"tag": "17.2"}}})

    def test_pooler_and_backup_are_off_by_default(self, default_objects: list[dict[str, Any]]) -> None:
        assert not by_kind(default_objects, "Pooler")
        assert not by_kind(default_objects, "ScheduledBackup")

    def test_extras_add_pooler_and_object_store_backup(self) -> None:
        objects = render_chart(EXTRAS_VALUES)
        pooler = one(objects, "Pooler", "imdb-warehouse-pooler-rw")
        assert pooler["spec"]["cluster"]["name"] == "imdb-warehouse"
        backup = one(objects, "ScheduledBackup", "imdb-warehouse-daily")
        assert backup["spec"]["method"] == "barmanObjectStore"
        store = one(objects, "Cluster", "imdb-warehouse")["spec"]["backup"]["barmanObjectStore"]
        assert store["destinationPath"] == "s3://bucket/imdb"
        assert store["s3Credentials"]["accessKeyId"]["name"] == "backup-creds"


class TestSecrets:
    def test_warehouse_secret_has_the_keys_job_pods_map(self, default_objects: list[dict[str, Any]]) -> None:
        secret = one(default_objects, "Secret", "imdb-warehouse-app")
        data = string_data(secret)
        assert {"host", "port", "dbname", "user", "password", "username"} <= set(data)
        assert data["host"] == "imdb-warehouse-rw.imdb.svc"
        assert data["dbname"] == "imdb" and data["user"] == data["username"] == "imdb"
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

    def test_generated_passwords_are_long_and_random(self) -> None:
        first, second = render_chart({"commonLabels": {"a": "1"}}), render_chart({"commonLabels": {"a": "2"}})
        for name in ("imdb-warehouse-app", "airflow-metadata-app", "imdb-airflow-admin"):
            a = string_data(one(first, "Secret", name))["password"]
            b = string_data(one(second, "Secret", name))["password"]
            assert len(a) >= 32 and a != b, f"{name}: password not generated"
            assert a not in {"admin", "password", "airflow"}

    def test_metadata_connection_uses_the_metadata_password(self, default_objects: list[dict[str, Any]]) -> None:
        password = string_data(one(default_objects, "Secret", "airflow-metadata-app"))["password"]
        connection = string_data(one(default_objects, "Secret", "airflow-metadata-connection"))["connection"]
        assert connection == f"postgresql://airflow:{password}@airflow-metadata-rw.imdb.svc:5432/airflow"

    def test_airflow_keys_secret(self, default_objects: list[dict[str, Any]]) -> None:
        data = string_data(one(default_objects, "Secret", "imdb-airflow-secrets"))
        assert set(data) == {"fernet-key", "jwt-secret", "api-secret-key"}
        assert len(base64.urlsafe_b64decode(data["fernet-key"])) == 32, "not a Fernet key"

    def test_existing_secrets_are_used_not_generated(self) -> None:
        values = {
            "warehouse": {"existingSecret": "my-wh"},
            "airflow": {"admin": {"existingSecret": "my-admin"}, "existingKeysSecret": "my-keys"},
        }
        objects = render_chart(values)
        names = {s["metadata"]["name"] for s in by_kind(objects, "Secret")}
        assert not names & {"imdb-warehouse-app", "imdb-airflow-admin", "imdb-airflow-secrets", "my-wh"}
        cluster = one(objects, "Cluster", "imdb-warehouse")
        assert cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"] == "my-wh"
        config = one(objects, "ConfigMap", "imdb-pipeline-config")
        assert config["data"]["IMDB_DB_SECRET"] == "my-wh"

    def test_dedicated_jobs_namespace_gets_a_copy_with_the_same_password(self) -> None:
        copies = [s for s in render_chart(EXTRAS_VALUES) if s["metadata"]["name"] == "imdb-warehouse-app"]
        assert sorted(s["metadata"]["namespace"] for s in copies) == ["imdb", "imdb-jobs"]
        assert len({string_data(s)["password"] for s in copies}) == 1


class TestRbac:
    def test_job_service_account_has_no_token(self, default_objects: list[dict[str, Any]]) -> None:
        sa = one(default_objects, "ServiceAccount", "imdb-job")
        assert sa["automountServiceAccountToken"] is False
        assert sa["metadata"]["namespace"] == "imdb"

    def test_role_lets_airflow_run_pods_and_nothing_else(self, default_objects: list[dict[str, Any]]) -> None:
        role = one(default_objects, "Role", "imdb-pipeline-pod-launcher")
        rules = {tuple(r["resources"]): set(r["verbs"]) for r in role["rules"]}
        assert rules[("pods",)] >= {"create", "get", "list", "watch", "delete"}
        assert rules[("pods/log",)] == {"get", "list"}
        assert set(rules) == {("pods",), ("pods/log",), ("pods/exec",), ("events",)}
        assert all("*" not in r["verbs"] and r["apiGroups"] == [""] for r in role["rules"])

    def test_nothing_cluster_wide(self, rendered_sets: dict[str, list[dict[str, Any]]]) -> None:
        for objects in rendered_sets.values():
            assert not {o["kind"] for o in objects} & {"ClusterRole", "ClusterRoleBinding"}

    def test_binding_targets_airflow_service_accounts(self, default_objects: list[dict[str, Any]]) -> None:
        binding = one(default_objects, "RoleBinding", "imdb-pipeline-pod-launcher")
        assert binding["roleRef"]["name"] == "imdb-pipeline-pod-launcher"
        assert {(s["name"], s["namespace"]) for s in binding["subjects"]} == {
            ("airflow-scheduler", "imdb"),
            ("airflow-worker", "imdb"),
            ("airflow-triggerer", "imdb"),
        }

    def test_jobs_namespace_moves_sa_role_and_binding(self) -> None:
        objects = render_chart(EXTRAS_VALUES)
        for kind, name in (
            ("ServiceAccount", "imdb-job"),
            ("Role", "imdb-pipeline-pod-launcher"),
            ("RoleBinding", "imdb-pipeline-pod-launcher"),
        ):
            assert one(objects, kind, name)["metadata"]["namespace"] == "imdb-jobs"
        namespace = one(objects, "Namespace", "imdb-jobs")
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


class TestNetworkPolicies:
    def policies(self, objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {p["metadata"]["name"]: p for p in by_kind(objects, "NetworkPolicy")}

    def test_toggle(self) -> None:
        assert not by_kind(render_chart({"networkPolicies": {"enabled": False}}), "NetworkPolicy")

    def test_default_deny_selects_only_job_pods_in_a_shared_namespace(
        self, default_objects: list[dict[str, Any]]
    ) -> None:
        deny = self.policies(default_objects)["imdb-jobs-default-deny"]
        assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
        expression = deny["spec"]["podSelector"]["matchExpressions"][0]
        assert expression["values"] == JOB_SELECTOR_COMPONENTS

    def test_default_deny_covers_a_dedicated_namespace(self) -> None:
        deny = self.policies(render_chart(EXTRAS_VALUES))["imdb-jobs-default-deny"]
        assert deny["spec"]["podSelector"] == {}
        assert deny["metadata"]["namespace"] == "imdb-jobs"

    def test_loader_egress_is_dns_443_and_postgres_only(self, default_objects: list[dict[str, Any]]) -> None:
        egress = self.policies(default_objects)["imdb-loader-egress"]["spec"]["egress"]
        ports = sorted((p["protocol"], p["port"]) for rule in egress for p in rule["ports"])
        assert ports == [("TCP", 53), ("TCP", 443), ("TCP", 5432), ("UDP", 53)]
        postgres = next(r for r in egress if r["ports"][0]["port"] == 5432)
        assert postgres["to"][0]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": "imdb-warehouse"}

    def test_dbt_has_no_internet(self, default_objects: list[dict[str, Any]]) -> None:
        egress = self.policies(default_objects)["imdb-dbt-egress"]["spec"]["egress"]
        assert 443 not in {p["port"] for rule in egress for p in rule["ports"]}

    def test_warehouse_accepts_jobs_airflow_operator_only(self, default_objects: list[dict[str, Any]]) -> None:
        policy = self.policies(default_objects)["imdb-warehouse-ingress"]
        peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
        selectors = [json.dumps(p, sort_keys=True) for p in peers]
        assert any('"tier": "airflow"' in s for s in selectors)
        assert any('"loader"' in s and '"dbt"' in s for s in selectors)
        assert any('"cnpg-system"' in s for s in selectors)
        assert not any(p == {} or p.get("ipBlock") for p in peers), "no open peers"

    def test_metadata_accepts_airflow_only(self, default_objects: list[dict[str, Any]]) -> None:
        policy = self.policies(default_objects)["airflow-metadata-ingress"]
        app_rule = policy["spec"]["ingress"][-1]
        assert app_rule["from"][0]["podSelector"]["matchLabels"] == {"tier": "airflow", "release": "airflow"}


class TestConfigMaps:
    def test_pipeline_config(self, default_objects: list[dict[str, Any]]) -> None:
        data = one(default_objects, "ConfigMap", "imdb-pipeline-config")["data"]
        assert data["IMDB_PIPELINE_RUNNER"] == "kubernetes"
        assert data["IMDB_JOBS_NAMESPACE"] == "imdb"
        assert data["IMDB_LOADER_IMAGE"] == "imdb-pipeline-loader:latest"
        assert data["IMDB_JOB_SERVICE_ACCOUNT"] == "imdb-job"
        assert data["IMDB_DB_SECRET"] == "imdb-warehouse-app"
        assert data["IMDB_LOADS_POOL_SLOTS"] == "3"
        assert all(isinstance(v, str) for v in data.values())

    def test_digest_pins_the_image(self) -> None:
        data = one(render_chart(EXTRAS_VALUES), "ConfigMap", "imdb-pipeline-config")["data"]
        assert data["IMDB_LOADER_IMAGE"] == "imdb-pipeline-loader@sha256:" + "a" * 64
        assert data["IMDB_JOBS_NAMESPACE"] == "imdb-jobs"

    def test_api_server_config(self) -> None:
        config = one(render_chart(EXTRAS_VALUES), "ConfigMap", "imdb-airflow-api-server-config")["data"]
        permissions = json.loads(config["dag_permissions.json"])
        assert permissions["users"]["alice"] == ["imdb_download_and_load_dag"]
        assert set(config) == {"dag_permissions.json"}, "webserver_config.py comes from the image alone"


class TestHelmTest:
    def test_job_is_a_hardened_test_hook(self, default_objects: list[dict[str, Any]]) -> None:
        job = one(default_objects, "Job", "imdb-pipeline-test-warehouse")
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "test"
        pod = job["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
        assert {r["name"] for r in refs.values()} == {"imdb-warehouse-app"}
        assert set(refs) == {"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"}


class TestCheckValues:
    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"images": {"loader": {"tag": ""}}}, "images.loader: set a tag or a digest"),
            ({"jobs": {"createNamespace": True}}, "jobs.createNamespace: set jobs.namespace"),
            ({"jobs": {"namespace": "imdb", "createNamespace": True}}, "is the release namespace"),
            (
                {"warehouse": {"backup": {"enabled": True, "method": "barmanObjectStore"}}},
                "warehouse.backup.objectStore.destinationPath: required",
            ),
        ],
    )
    def test_bad_combinations_fail_naming_the_key(self, values: dict[str, Any], message: str) -> None:
        assert message in render_error(values)

    @pytest.mark.parametrize(
        ("values", "where"),
        [
            ({"warehouse": {"instancs": 2}}, "/warehouse"),
            ({"unknown": True}, "additional properties 'unknown'"),
            ({"warehouse": {"instances": 0}}, "/warehouse/instances"),
            ({"images": {"pullPolicy": "Sometimes"}}, "/images/pullPolicy"),
            ({"pipeline": {"baseUrl": "https://datasets.imdbws.com"}}, "/pipeline/baseUrl"),
            (
                {"airflow": {"dagPermissions": {"version": 2, "users": {"a": {"dags": {"d": ["own"]}}}}}},
                "dagPermissions",
            ),
        ],
    )
    def test_schema_rejects_unknown_and_malformed_values(self, values: dict[str, Any], where: str) -> None:
        assert where in render_error(values)


class TestNotes:
    def test_notes_print_the_next_commands(self) -> None:
        result = run_helm("install", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE, "--dry-run=client")
        assert result.returncode == 0, result.stderr
        notes = result.stdout.split("\nNOTES:\n", 1)[1]
        assert "port-forward svc/airflow-api-server 8080:8080" in notes
        assert "airflow dags trigger imdb_download_and_load_dag" in notes
        assert "get secret imdb-airflow-admin -o jsonpath='{.data.password}'" in notes
        assert "helm test imdb-pipeline" in notes
        assert "wait clusters.postgresql.cnpg.io/imdb-warehouse" in notes
