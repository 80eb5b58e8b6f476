"""Fixtures for the Kubernetes artefact tests: rendered value sets, shared per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.helpers import VALUE_SETS, helm_binary, render_chart

# Everything optional switched on at once, so the validators see every template.
EXTRAS_VALUES: dict[str, Any] = {
    "commonLabels": {"team": "data"},
    "imagePullSecrets": ["regcred"],
    "jobs": {"namespace": "imdb-jobs", "createNamespace": True},
    "images": {"loader": {"digest": "sha256:" + "a" * 64}},
    "warehouse": {
        "instances": 3,
        "walStorage": {"enabled": True},
        "pooler": {"enabled": True},
        "backup": {
            "enabled": True,
            "method": "barmanObjectStore",
            "objectStore": {
                "destinationPath": "s3://bucket/imdb",
                "endpointURL": "https://minio.example:9000",
                "credentialsSecret": "backup-creds",
            },
        },
    },
    "airflow": {
        "dagPermissions": {
            "version": 2,
            "users": {
                "alice": ["imdb_download_and_load_dag"],
                "bob": {"dags": {"imdb_download_and_load_dag": ["read", "trigger"]}},
            },
        }
    },
}


@pytest.fixture(scope="session", autouse=True)
def _needs_helm() -> None:
    if helm_binary() is None:
        pytest.skip("helm is not installed (make setup puts it in .venv/bin)")


@pytest.fixture(scope="session")
def rendered_sets() -> dict[str, list[dict[str, Any]]]:
    """name -> rendered objects, for the defaults, each example and the all-extras set."""
    sets = {name: render_chart(values_files=files) for name, files in VALUE_SETS.items()}
    sets["extras"] = render_chart(EXTRAS_VALUES)
    return sets


@pytest.fixture(scope="session")
def default_objects() -> list[dict[str, Any]]:
    return render_chart()
