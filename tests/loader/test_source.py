"""The HTTP side: conditional skips, retries, resumes and clean restarts, against the local IMDb."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from imdb_loader import datasets
from imdb_loader.config import HttpSettings, LoadConfig
from imdb_loader.errors import ExitCode
from imdb_loader.load import DatasetLoad

from .conftest import Runner, publish, query

NAMES = datasets.get("name.basics")
FILE = NAMES.file_name


@pytest.fixture
def published(clean_files: Path, site) -> tuple[Path, object]:
    root, server = site
    publish(root, clean_files, "name.basics")
    return root, server


def fast_retry_load(dsn: str, base_url: str, **http: object) -> DatasetLoad:
    settings = HttpSettings(backoff_base=0.01, backoff_max=2.0, **http)  # type: ignore[arg-type]
    return DatasetLoad(NAMES, LoadConfig(dsn=dsn, base_url=base_url, http=settings))


def live_rows(dsn: str) -> int:
    return int(query(dsn, "SELECT count(*) FROM imdb_raw.name_basics")[0][0])


def expected_rows(clean_files: Path) -> int:
    import gzip

    with gzip.open(clean_files / FILE, "rb") as f:
        return sum(1 for _ in f) - 1


def test_unchanged_source_is_skipped_without_downloading_the_body(
    published, run_load: Runner, fresh_db: str, capsys
) -> None:
    _, server = published
    assert run_load("name.basics") == ExitCode.OK
    started = time.monotonic()
    assert run_load("name.basics") == ExitCode.OK
    elapsed = time.monotonic() - started
    second = server.requests_for(FILE)[-1]
    assert second.status == 304, "asked conditionally"
    assert second.header("If-None-Match"), "with the stored ETag"
    assert second.body_bytes == 0
    assert "unchanged, skipped" in capsys.readouterr().err
    print(f"unchanged re-run took {elapsed:.3f}s")
    statuses = query(fresh_db, "SELECT status, bytes_downloaded FROM imdb_raw.load_runs ORDER BY started_at")
    assert [s for s, _ in statuses] == ["loaded", "unchanged"]
    assert statuses[1][1] == 0


def test_force_reloads_an_unchanged_source(published, run_load: Runner, fresh_db: str) -> None:
    _, server = published
    assert run_load("name.basics") == ExitCode.OK
    assert run_load("name.basics", "--force") == ExitCode.OK
    assert server.requests_for(FILE)[-1].status == 200
    assert query(fresh_db, "SELECT status FROM imdb_raw.load_runs ORDER BY started_at") == [("loaded",), ("loaded",)]


def test_a_new_version_is_loaded(published, run_load: Runner, fresh_db: str, clean_files: Path) -> None:
    root, _ = published
    assert run_load("name.basics") == ExitCode.OK
    target = root / FILE
    data = target.read_bytes()
    target.write_bytes(data)
    os.utime(target, (time.time() + 86400, time.time() + 86400))  # IMDb's daily refresh
    assert run_load("name.basics") == ExitCode.OK
    runs = query(fresh_db, "SELECT status, etag FROM imdb_raw.load_runs ORDER BY started_at")
    assert [s for s, _ in runs] == ["loaded", "loaded"]
    assert runs[0][1] != runs[1][1]


def test_retries_5xx_then_loads(published, fresh_db: str, clean_files: Path) -> None:
    _, server = published
    server.faults.fail(503, times=2)
    result = fast_retry_load(fresh_db, server.base_url).run()
    assert result.status == "loaded", result.error
    assert [r.status for r in server.requests_for(FILE)] == [503, 503, 200]
    assert live_rows(fresh_db) == expected_rows(clean_files)


def test_429_retry_after_is_honoured(published, fresh_db: str) -> None:
    _, server = published
    server.faults.fail(429, times=1, retry_after=1)
    started = time.monotonic()
    result = fast_retry_load(fresh_db, server.base_url).run()
    assert result.status == "loaded", result.error
    assert time.monotonic() - started >= 1.0, "waited as long as Retry-After asked"


def test_gives_up_with_source_unavailable(published, fresh_db: str) -> None:
    _, server = published
    server.faults.fail(503, times=None)
    result = fast_retry_load(fresh_db, server.base_url, max_attempts=3).run()
    assert result.status == "failed"
    assert result.exit_code == ExitCode.SOURCE_UNAVAILABLE
    assert "gave up after 3 attempts: HTTP 503" in (result.error or "")


def test_dropped_connection_resumes_with_range(published, fresh_db: str, clean_files: Path) -> None:
    _, server = published
    server.faults.drop_after(100_000, times=1)
    result = fast_retry_load(fresh_db, server.base_url, chunk_size=16_384).run()
    assert result.status == "loaded", result.error
    resume = server.requests_for(FILE)[-1]
    assert resume.status == 206
    assert resume.header(
        "Range",
    ) is not None and resume.header("Range").startswith("bytes=")
    assert resume.header("If-Range"), "resumes only the same version"
    assert live_rows(fresh_db) == expected_rows(clean_files)


def test_truncated_response_resumes(published, fresh_db: str, clean_files: Path) -> None:
    _, server = published
    server.faults.truncate(50_000, times=1)
    result = fast_retry_load(fresh_db, server.base_url, chunk_size=16_384).run()
    assert result.status == "loaded", result.error
    assert server.requests_for(FILE)[-1].status == 206
    assert live_rows(fresh_db) == expected_rows(clean_files)


def test_server_ignoring_range_means_a_clean_restart(published, fresh_db: str, clean_files: Path) -> None:
    _, server = published
    server.faults.drop_after(100_000, times=1)
    server.faults.ignore_range(times=1)
    result = fast_retry_load(fresh_db, server.base_url, chunk_size=16_384).run()
    assert result.status == "loaded", result.error
    statuses = [r.status for r in server.requests_for(FILE)]
    assert statuses[:2] == [200, 200], "the dropped download, then the range answered in full"
    assert statuses[-1] == 200 and len(statuses) == 3, "a fresh full download"
    assert live_rows(fresh_db) == expected_rows(clean_files), "no row twice, none missing"


def test_slow_trickle_still_loads(published, fresh_db: str, clean_files: Path) -> None:
    _, server = published
    size = (published[0] / FILE).stat().st_size
    server.faults.throttle(size * 2)  # about half a second
    result = fast_retry_load(fresh_db, server.base_url).run()
    assert result.status == "loaded", result.error
    assert live_rows(fresh_db) == expected_rows(clean_files)


def test_missing_file_is_source_unavailable(site, run_load: Runner, capsys) -> None:
    assert run_load("title.ratings") == ExitCode.SOURCE_UNAVAILABLE
    assert "title.ratings.tsv.gz: HTTP 404" in capsys.readouterr().err


def test_connect_errors_are_retried_then_reported(fresh_db: str) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = fast_retry_load(fresh_db, f"http://127.0.0.1:{port}/", max_attempts=3, connect_timeout=1.0).run()
    assert result.exit_code == ExitCode.SOURCE_UNAVAILABLE
    assert "gave up after 3 attempts: ConnectionError" in (result.error or "")
    assert query(fresh_db, "SELECT status, error IS NOT NULL FROM imdb_raw.load_runs") == [("failed", True)]
