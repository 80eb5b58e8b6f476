"""Every rendered object is valid: Kubernetes kinds against the 1.33 OpenAPI schemas in strict
mode (kubernetes-validate), CloudNativePG objects against the 1.30 CRDs' openAPIV3Schema.
A kind in neither list fails the test: nothing unchecked reaches a cluster."""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from kubernetes_validate import utils as kv_utils
from referencing import Registry, Resource

from tests.k8s.helpers import KUBE_VERSION, crd_schema, schema_path

KUBERNETES_KINDS = {
    "ConfigMap",
    "Job",
    "Namespace",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
    "Secret",
    "ServiceAccount",
}
CNPG_CRDS = {
    "Cluster": "cnpg-1.30-clusters.crd.yaml",
    "Pooler": "cnpg-1.30-poolers.crd.yaml",
    "ScheduledBackup": "cnpg-1.30-scheduledbackups.crd.yaml",
}
SET_NAMES = ["default", "kind", "minikube", "cloud", "extras"]


def strict_structural(schema: Any) -> Any:
    """The CRD schema as the API server applies it with strict field validation: an unknown
    field is an error unless the schema preserves unknown fields."""
    if isinstance(schema, dict):
        out = {k: strict_structural(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict_structural(item) for item in schema]
    return schema


@functools.cache
def cnpg_validator(kind: str) -> jsonschema.Draft7Validator | None:
    path, _ = schema_path(CNPG_CRDS[kind])
    return None if path is None else jsonschema.Draft7Validator(strict_structural(crd_schema(path)))


@functools.cache
def kubernetes_validator(kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    """kubernetes-validate's strict 1.33 schema for a kind, built once (its validate() re-reads
    the 1.4 MB definitions on every call)."""
    schema_dir = f"kubernetes-json-schema/v{KUBE_VERSION}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = kv_utils.schema_contents(f"{schema_dir}/{kind.lower()}-{api}.json", KUBE_VERSION)
    definitions = kv_utils.schema_contents(f"{schema_dir}/_definitions.json", KUBE_VERSION)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def cnpg_errors(obj: dict[str, Any]) -> list[str]:
    validator = cnpg_validator(obj["kind"])
    if validator is None:
        pytest.skip(schema_path(CNPG_CRDS[obj["kind"]])[1])
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def kubernetes_errors(obj: dict[str, Any]) -> list[str]:
    validator = kubernetes_validator(obj["kind"], obj["apiVersion"])
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


@pytest.mark.parametrize("set_name", SET_NAMES)
def test_only_known_kinds(rendered_sets: dict[str, list[dict[str, Any]]], set_name: str) -> None:
    unknown = {o["kind"] for o in rendered_sets[set_name]} - KUBERNETES_KINDS - set(CNPG_CRDS)
    assert not unknown, f"no validator for kinds {sorted(unknown)}; add a schema before adding a kind"


@pytest.mark.parametrize("set_name", SET_NAMES)
def test_kubernetes_objects_are_valid_for_1_33_strict(
    rendered_sets: dict[str, list[dict[str, Any]]], set_name: str
) -> None:
    problems = {
        f"{o['kind']}/{o['metadata']['name']}": errors
        for o in rendered_sets[set_name]
        if o["kind"] in KUBERNETES_KINDS and (errors := kubernetes_errors(o))
    }
    assert not problems, problems


@pytest.mark.parametrize("set_name", SET_NAMES)
def test_cnpg_objects_match_the_1_30_crds(rendered_sets: dict[str, list[dict[str, Any]]], set_name: str) -> None:
    problems = {
        f"{o['kind']}/{o['metadata']['name']}": errors
        for o in rendered_sets[set_name]
        if o["kind"] in CNPG_CRDS and (errors := cnpg_errors(o))
    }
    assert not problems, problems


def test_extras_render_every_cnpg_kind(rendered_sets: dict[str, list[dict[str, Any]]]) -> None:
    assert {o["kind"] for o in rendered_sets["extras"]} >= set(CNPG_CRDS) | KUBERNETES_KINDS


def test_cached_validator_agrees_with_kubernetes_validate(default_objects: list[dict[str, Any]]) -> None:
    job = next(o for o in default_objects if o["kind"] == "Job")
    assert kubernetes_validate.validate(job, KUBE_VERSION, strict=True)
    broken = copy.deepcopy(job)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)
    assert kubernetes_errors(broken)


def test_validators_reject_broken_objects(default_objects: list[dict[str, Any]]) -> None:
    """The checks above can fail: a typo in a Secret and a wrong type in a Cluster are caught."""
    secret = copy.deepcopy(next(o for o in default_objects if o["kind"] == "Secret"))
    secret["metdata"] = secret.pop("metadata")
    assert kubernetes_errors(secret)
    cluster = copy.deepcopy(next(o for o in default_objects if o["kind"] == "Cluster"))
    cluster["spec"]["instances"] = "two"
    assert cnpg_errors(cluster)
    cluster["spec"]["instances"] = 1
    cluster["spec"]["storage"]["sizee"] = "1Gi"
    assert cnpg_errors(cluster), "CRD schema did not reject an unknown field"
