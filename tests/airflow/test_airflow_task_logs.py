"""Task logs keep each loader and dbt line at its own level, in both runners.

The loader lines come from the real ``imdb-load`` (and its own JSON formatter), the dbt lines
from the real dbt of ``.venvs/dbt``; nothing here restates their formats.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from imdb_pipeline.local_tools import dbt_command

from imdb_loader.logs import JsonFormatter

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT = Path(dbt_command())
# A port nothing listens on: the loader fails to connect and says so at ERROR, exit code 6.
DEAD_DSN = "postgresql://nobody:secret@127.0.0.1:1/imdb"


def loader_line(level: int, msg: str, **extra: object) -> str:
    record = logging.LogRecord("imdb_loader.load", level, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return JsonFormatter().format(record)


def test_loader_lines_keep_their_level_and_dataset():
    from imdb_pipeline.logs import parse_line

    line = loader_line(logging.WARNING, "121 rows rejected", dataset="title.basics", rows=10)
    assert parse_line(line) == (logging.WARNING, "title.basics: 121 rows rejected")
    line = loader_line(logging.INFO, "title.basics: loaded 10 rows", dataset="title.basics")
    assert parse_line(line) == (logging.INFO, "title.basics: loaded 10 rows")
    assert parse_line(loader_line(logging.ERROR, "database error"))[0] == logging.ERROR


def test_other_lines_stay_info_and_unchanged():
    from imdb_pipeline.logs import parse_line

    for line in ("Traceback (most recent call last):", "{not json", '{"a": 1}', "[1, 2]", ""):
        assert parse_line(line + "\n") == (logging.INFO, line)


@pytest.mark.skipif(not DBT.exists(), reason=f"dbt is not installed at {DBT} (make setup)")
def test_dbt_json_lines_keep_their_level(tmp_path):
    from imdb_pipeline.jobs import dbt_arguments
    from imdb_pipeline.logs import parse_line

    # A model dbt warns about, in a throwaway project: `dbt parse` needs no database.
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\nversion: '1.0.0'\nprofile: p\nconfig-version: 2\n")
    (project / "profiles.yml").write_text(
        "p:\n  target: t\n  outputs:\n    t: {type: postgres, host: 127.0.0.1, port: 1, user: u, password: x,"
        " dbname: d, schema: s, threads: 1}\n"
    )
    (project / "models" / "m.sql").write_text("select 1 as x\n")
    (project / "models" / "schema.yml").write_text("version: 2\nmodels:\n  - name: not_a_model\n")
    flags = dbt_arguments(str(project), target_path=str(tmp_path / "target"), log_path=str(tmp_path / "logs"))
    proc = subprocess.run([str(DBT), "parse", *flags], capture_output=True, text=True, timeout=300, check=False)
    parsed = [parse_line(line) for line in proc.stdout.splitlines()]
    assert any(level == logging.INFO and text.startswith("Running with dbt=") for level, text in parsed), proc.stdout
    warnings = [text for level, text in parsed if level == logging.WARNING]
    assert any("not_a_model" in text for text in warnings), proc.stdout[-3000:]
    assert not any(text.startswith("{") or "\x1b[" in text for _, text in parsed)


def test_local_runner_logs_a_loader_error_at_error():
    from imdb_pipeline.jobs import LOAD_JOBS
    from imdb_pipeline.local import SubprocessOperator
    from structlog.testing import capture_logs

    job = LOAD_JOBS[0]
    operator = SubprocessOperator(task_id="t")
    argv = [str(Path(sys.executable).parent / "imdb-load"), *job.arguments(os.devnull), "--dsn", DEAD_DSN]
    # The task logger of Airflow 3 is a structlog logger; these tests log at WARNING and above
    # (tests/airflow/conftest.py), so a line logged at INFO, as before, would not be seen at all.
    with capture_logs() as records:
        code = operator.run_logged(argv, dict(os.environ))
    assert code == 6
    lines = [(r["log_level"], str(r["event"])) for r in records]
    loader = [(level, text) for level, text in lines if job.dataset.name in text and "Running:" not in text]
    assert [level for level, _ in loader] == ["error"], lines
    error = loader[0][1]
    assert "database error" in error
    assert not error.startswith("{")
    assert "secret" not in " ".join(text for _, text in lines)


def test_kubernetes_runner_logs_pod_lines_at_their_level():
    from imdb_pipeline.kubernetes import LevelledPodManager
    from structlog.testing import capture_logs

    manager = LevelledPodManager(kube_client=None)
    with capture_logs() as records:
        for level in (logging.INFO, logging.WARNING, logging.ERROR):
            line = loader_line(level, f"a {logging.getLevelName(level)} line", dataset="title.akas")
            manager._log_message(line, "base", True, None)
    # INFO is below this test session's log level (WARNING), so it is not seen.
    assert [(r["log_level"], r["event"]) for r in records] == [
        ("warning", "[base] title.akas: a WARNING line"),
        ("error", "[base] title.akas: a ERROR line"),
    ]
