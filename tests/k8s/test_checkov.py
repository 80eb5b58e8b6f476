"""checkov on everything the chart renders (every value set at once, one run per session).
Findings we accept are skipped in the templates with `checkov.io/skipN` annotations that give the
reason; this test fails on any other finding, and on a skip without a reason."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.helpers import REPO_ROOT

TIMEOUT_SECONDS = 300


def checkov_binary() -> Path | None:
    venv = Path(os.environ.get("IMDB_CHECKOV_VENV", REPO_ROOT / ".venvs" / "checkov"))
    binary = venv / "bin" / "checkov"
    return binary if binary.exists() else None


@pytest.fixture(scope="module")
def checkov_report(
    rendered_sets: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    binary = checkov_binary()
    if binary is None:
        pytest.skip("checkov is not installed (make setup creates .venvs/checkov)")
    directory = tmp_path_factory.mktemp("rendered")
    for name, objects in rendered_sets.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    env = {
        **os.environ,
        # Offline: no policy download, no mapping fetch, no package scan, no telemetry.
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "CKV_NO_BANNER": "1",
        "BC_API_KEY": "",
    }
    result = subprocess.run(
        [
            str(binary),
            *("--framework", "kubernetes", "--directory", str(directory)),
            *("--compact", "--output", "json", "--skip-download"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    kubernetes = [r for r in reports if r.get("check_type") == "kubernetes"]
    assert kubernetes, f"checkov ran no kubernetes checks: {result.stdout[:500]}"
    return dict(kubernetes[0])


def test_no_unreviewed_findings(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['check_name']} - {c['resource']} ({c['file_path']})"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []


def test_checkov_saw_the_workloads(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["parsing_errors"] == 0
    assert checkov_report["summary"]["passed"] > 100
    resources = {c["resource"] for c in checkov_report["results"]["passed_checks"]}
    assert any(r.startswith("Job.") for r in resources)
    assert any(r.startswith("Role.") for r in resources)


def test_every_skip_has_a_reason(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped, "the annotations in templates/tests/warehouse-test-job.yaml were not honoured"
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment") or "") > 30, f"{check['check_id']}: give a real reason"
