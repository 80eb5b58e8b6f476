"""The command line as pods and people use it: help, errors, exit codes, logs, result file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from imdb_loader import datasets
from imdb_loader.errors import ExitCode
from imdb_loader.libpq import pg_env

from .conftest import publish, query


def imdb_load(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imdb_loader.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_help_explains_datasets_connection_and_exit_codes() -> None:
    out = imdb_load("--help")
    assert out.returncode == 0
    for name in datasets.NAMES:
        assert name in out.stdout
    for text in ("IMDB_DSN", "PGHOST", "--reject-limit", "--force", "exit codes", "too many rejected rows"):
        assert text in out.stdout


def test_bad_arguments_exit_2_with_one_line(fresh_db: str) -> None:
    for args, message in (
        (["title.nope"], "unknown dataset 'title.nope'"),
        (["title.basics", "--reject-limit", "lots"], "reject-limit: 'lots' is neither"),
        (["title.basics", "--schema", "Bad Schema"], "schema: 'Bad Schema' is not"),
        (["title.basics", "--parallel", "0"], "parallel: must be at least 1"),
    ):
        out = imdb_load(*args, "--dsn", fresh_db)
        assert out.returncode == ExitCode.BAD_ARGUMENTS, args
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("imdb-load: error: ") and message in last, last


def test_json_logs_and_result_file_and_no_password(clean_files: Path, site, fresh_db: str, tmp_path: Path) -> None:
    root, server = site
    publish(root, clean_files, "title.ratings", "title.episode")
    password = urlsplit(fresh_db).password
    assert password
    result_file = tmp_path / "xcom" / "return.json"
    args = ["title.ratings", "title.episode", "--dsn", fresh_db, "--base-url", server.base_url]
    out = imdb_load(*args, "--log-format", "json", "--result-file", str(result_file))
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stderr.splitlines()]
    assert {r["level"] for r in records} <= {"info", "warning"}
    assert {r.get("dataset") for r in records} >= {"title.ratings", "title.episode"}
    assert any(r.get("status") == "loaded" for r in records)
    assert password not in out.stderr + out.stdout
    result = json.loads(result_file.read_text())
    assert result["status"] == "loaded"
    assert [d["dataset"] for d in result["datasets"]] == ["title.episode", "title.ratings"]
    assert all(d["rows"] > 0 and d["status"] == "loaded" for d in result["datasets"])

    again = imdb_load(*args, "--result-file", str(result_file))
    assert again.returncode == 0
    assert json.loads(result_file.read_text())["status"] == "unchanged"
    assert "title.ratings: unchanged, skipped" in again.stderr


def test_libpq_environment_is_enough(clean_files: Path, site, fresh_db: str) -> None:
    """Pods get PGHOST/PGPORT/... from the CloudNativePG app secret and no DSN at all."""
    root, server = site
    publish(root, clean_files, "title.ratings")
    parts = urlsplit(fresh_db)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "IMDB_"))},
        **pg_env(fresh_db),
        "IMDB_BASE_URL": server.base_url,
    }
    out = imdb_load("title.ratings", env=env)
    assert out.returncode == 0, out.stderr
    assert parts.password not in out.stderr
    assert query(fresh_db, "SELECT count(*) > 0 FROM imdb_raw.title_ratings") == [(True,)]


def test_database_errors_are_one_line_without_the_password(site, fresh_db: str) -> None:
    _, server = site
    wrong = fresh_db.replace(urlsplit(fresh_db).password or "", "not-the-password")
    out = imdb_load("title.ratings", "--dsn", wrong, "--base-url", server.base_url)
    assert out.returncode == ExitCode.DATABASE_ERROR
    last = out.stderr.strip().splitlines()[-1]
    assert "title.ratings: database error:" in last and "password authentication failed" in last
    assert "not-the-password" not in out.stderr


def test_keyword_dsn_works(clean_files: Path, site, fresh_db: str) -> None:
    root, server = site
    publish(root, clean_files, "title.ratings")
    p = urlsplit(fresh_db)
    keywords = f"host={p.hostname} port={p.port} dbname={p.path.lstrip('/')} user={p.username} password={p.password}"
    out = imdb_load("title.ratings", "--dsn", keywords, "--base-url", server.base_url)
    assert out.returncode == 0, out.stderr
    assert f"{p.username}@{p.hostname}:{p.port}/{p.path.lstrip('/')}" in out.stderr
    assert (p.password or "") not in out.stderr
