"""The local IMDb server, over real HTTP on 127.0.0.1 with ``requests`` as the client."""

from __future__ import annotations

import email.utils
import http.client
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from imdb_devkit.server import ImdbServer, parse_range, replace_file, serve
from imdb_loader import datasets as registry

BIG = "title.principals.tsv.gz"
SMALL = "title.ratings.tsv.gz"
BIG_SIZE = 300_000


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """Seven files of pseudo-random bytes (the server does not care what is inside)."""
    rng = random.Random(99)
    an_hour_ago = time.time() - 3600  # like IMDb's files, written well before anyone asks
    for i, ds in enumerate(registry.DATASETS):
        size = BIG_SIZE if ds.file_name == BIG else 20_000 + i
        path = tmp_path / ds.file_name
        path.write_bytes(rng.randbytes(size))
        os.utime(path, (an_hour_ago, an_hour_ago))
    return tmp_path


@pytest.fixture
def server(files: Path) -> Iterator[ImdbServer]:
    with serve(files) as srv:
        yield srv


def _read_until_broken(server: ImdbServer, name: str) -> bytes:
    """Download what arrives before the server breaks the connection (which it must).

    http.client rather than requests: urllib3 drops the last partial chunk when the
    connection breaks, and here every byte that arrived matters.
    """
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", "/" + name)
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead) as broken:
            response.read()
        return broken.value.partial
    finally:
        conn.close()


# --------------------------------------------------------------------------- plain HTTP


def test_get_serves_the_file_with_validators(server: ImdbServer, files: Path) -> None:
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/")
    r = requests.get(server.url(SMALL), timeout=10)
    assert r.status_code == 200
    assert r.content == (files / SMALL).read_bytes()
    assert r.headers["Content-Type"] == "application/x-gzip"
    assert "Content-Encoding" not in r.headers
    assert int(r.headers["Content-Length"]) == (files / SMALL).stat().st_size
    assert r.headers["ETag"].startswith('"') and r.headers["ETag"].endswith('"')
    assert email.utils.parsedate_to_datetime(r.headers["Last-Modified"]).timestamp() == int(
        (files / SMALL).stat().st_mtime
    )
    assert r.headers["Accept-Ranges"] == "bytes"


def test_head_has_the_headers_and_no_body(server: ImdbServer, files: Path) -> None:
    get = requests.get(server.url(SMALL), timeout=10)
    head = requests.head(server.url(SMALL), timeout=10)
    assert head.status_code == 200 and head.content == b""
    for key in ("ETag", "Last-Modified", "Content-Length", "Content-Type"):
        assert head.headers[key] == get.headers[key]
    assert server.count(SMALL, "HEAD") == 1 and server.count(SMALL, "GET") == 1


def test_missing_files_and_escapes_are_404(server: ImdbServer) -> None:
    assert requests.get(server.url("title.nope.tsv.gz"), timeout=10).status_code == 404
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for path in ("/..%2F..%2Fetc%2Fpasswd", "/../../etc/passwd", "/.hidden"):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 404, path
    conn.close()


def test_index_lists_the_files(server: ImdbServer) -> None:
    r = requests.get(server.base_url, timeout=10)
    assert r.status_code == 200
    for ds in registry.DATASETS:
        assert f'href="{ds.file_name}"' in r.text


# --------------------------------------------------------------------------- conditional requests


def test_if_none_match_and_if_modified_since_give_304(server: ImdbServer) -> None:
    url = server.url(SMALL)
    first = requests.get(url, timeout=10)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", W/{etag}'},
        {"If-Modified-Since": modified},
    ):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 304, headers
        assert r.content == b"" and r.headers["ETag"] == etag
    assert requests.get(url, headers={"If-None-Match": '"stale"'}, timeout=10).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = {"If-None-Match": '"stale"', "If-Modified-Since": modified}
    assert requests.get(url, headers=both, timeout=10).status_code == 200
    old = email.utils.formatdate(0, usegmt=True)
    assert requests.get(url, headers={"If-Modified-Since": old}, timeout=10).status_code == 200


def test_replacing_a_file_changes_its_validators(server: ImdbServer, files: Path) -> None:
    url = server.url(SMALL)
    before = requests.get(url, timeout=10).headers
    replace_file(files / SMALL, b"a new day at IMDb")
    r = requests.get(url, headers={"If-None-Match": before["ETag"]}, timeout=10)
    assert r.status_code == 200 and r.content == b"a new day at IMDb"
    assert r.headers["ETag"] != before["ETag"]
    assert r.headers["Last-Modified"] != before["Last-Modified"]
    for stale in (before["ETag"], before["Last-Modified"]):
        r = requests.get(url, headers={"Range": "bytes=5-", "If-Range": stale}, timeout=10)
        assert r.status_code == 200 and r.content == b"a new day at IMDb", stale


def test_replace_file_changes_last_modified_within_the_same_second(files: Path) -> None:
    target = files / SMALL
    os.utime(target, None)  # modified "now"
    first = target.stat().st_mtime
    replace_file(target, b"one")
    second = target.stat().st_mtime
    replace_file(target, files / BIG)
    assert int(first) < int(second) < int(target.stat().st_mtime)
    assert target.read_bytes() == (files / BIG).read_bytes()
    assert sorted(p.name for p in files.iterdir()) == sorted(ds.file_name for ds in registry.DATASETS)


def test_a_date_in_if_range_is_not_trusted_for_a_file_changed_this_second(server: ImdbServer, files: Path) -> None:
    soon = time.time() + 30  # "just changed", with no race against the clock
    os.utime(files / BIG, (soon, soon))
    modified = requests.head(server.url(BIG), timeout=10).headers["Last-Modified"]
    r = requests.get(server.url(BIG), headers={"Range": "bytes=100-", "If-Range": modified}, timeout=10)
    assert r.status_code == 200, "a one-second date cannot prove a file modified just now is unchanged"


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=1000-", 1000, BIG_SIZE - 1), ("bytes=10-19", 10, 19), ("bytes=-100", BIG_SIZE - 100, BIG_SIZE - 1)],
)
def test_ranges_give_206(server: ImdbServer, files: Path, header: str, first: int, last: int) -> None:
    data = (files / BIG).read_bytes()
    r = requests.get(server.url(BIG), headers={"Range": header}, timeout=10)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes {first}-{last}/{BIG_SIZE}"
    assert int(r.headers["Content-Length"]) == last - first + 1
    assert r.content == data[first : last + 1]


def test_if_range_honoured(server: ImdbServer, files: Path) -> None:
    url = server.url(BIG)
    head = requests.head(url, timeout=10).headers
    data = (files / BIG).read_bytes()
    for validator in (head["ETag"], head["Last-Modified"]):
        r = requests.get(url, headers={"Range": "bytes=100-", "If-Range": validator}, timeout=10)
        assert r.status_code == 206 and r.content == data[100:], validator
    for stale in ('"not-it"', f"W/{head['ETag']}", email.utils.formatdate(0, usegmt=True)):
        r = requests.get(url, headers={"Range": "bytes=100-", "If-Range": stale}, timeout=10)
        assert r.status_code == 200 and r.content == data, stale


def test_unsatisfiable_range_is_416_and_bad_ranges_are_ignored(server: ImdbServer, files: Path) -> None:
    r = requests.get(server.url(BIG), headers={"Range": f"bytes={BIG_SIZE}-"}, timeout=10)
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{BIG_SIZE}"
    for ignored in ("bytes=5-2", "items=0-10", "bytes=0-1,5-6", "bytes=abc"):
        r = requests.get(server.url(SMALL), headers={"Range": ignored}, timeout=10)
        assert r.status_code == 200 and r.content == (files / SMALL).read_bytes(), ignored


def test_parse_range_edges() -> None:
    assert parse_range("bytes=0-", 10) == (0, 9)
    assert parse_range("bytes=0-999", 10) == (0, 9)
    assert parse_range("bytes=-999", 10) == (0, 9)
    assert parse_range("bytes=-0", 10) == "unsatisfiable"
    assert parse_range("bytes=0-", 0) == "unsatisfiable"
    assert parse_range("bytes=-", 10) is None


# --------------------------------------------------------------------------- faults


def test_drop_after_n_bytes_then_resume(server: ImdbServer, files: Path) -> None:
    data = (files / BIG).read_bytes()
    server.faults.drop_after(50_000, times=1, file=BIG)
    received = _read_until_broken(server, BIG)
    assert received == data[:50_000]
    dropped = server.requests_for(BIG)[-1]
    assert dropped.faults == ["drop:50000"] and dropped.body_bytes == 50_000
    validator = requests.head(server.url(BIG), timeout=10).headers["ETag"]
    resume = {"Range": f"bytes={len(received)}-", "If-Range": validator}
    rest = requests.get(server.url(BIG), headers=resume, timeout=10)
    assert rest.status_code == 206 and received + rest.content == data
    sent = server.requests_for(BIG, "GET")[-1]
    assert sent.header("range") == "bytes=50000-" and sent.header("IF-RANGE") == validator


def test_truncated_body_for_the_first_k_requests(server: ImdbServer, files: Path) -> None:
    data = (files / BIG).read_bytes()
    server.faults.truncate(1234, times=2)
    assert _read_until_broken(server, BIG) == data[:1234]
    assert _read_until_broken(server, SMALL) == (files / SMALL).read_bytes()[:1234]
    assert requests.get(server.url(BIG), timeout=10).content == data
    assert server.faults.active() == []


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, 7)])
def test_error_status_for_the_first_k_requests(server: ImdbServer, status: int, retry_after: int | None) -> None:
    server.faults.fail(status, times=2, retry_after=retry_after, file=SMALL)
    first = requests.head(server.url(SMALL), timeout=10)
    second = requests.get(server.url(SMALL), timeout=10)
    third = requests.get(server.url(SMALL), timeout=10)
    assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
    assert second.headers.get("Retry-After") == (str(retry_after) if retry_after is not None else None)
    assert requests.get(server.url(BIG), timeout=10).status_code == 200, "other files are not affected"


def test_throttle_trickles_the_body(server: ImdbServer, files: Path) -> None:
    server.faults.throttle(2_000, file=BIG)
    with requests.get(server.url(BIG), stream=True, timeout=30) as r:
        assert r.status_code == 200
        first = r.raw.read(100)
        assert first == (files / BIG).read_bytes()[:100]
        # At 2 kB/s the server cannot have sent the 300 kB file by now: it is still trickling.
        assert server.requests_for(BIG)[-1].body_bytes < BIG_SIZE
    assert server.requests_for(BIG)[-1].faults == ["throttle:2000"]
    server.faults.clear()
    assert requests.get(server.url(BIG), timeout=10).content == (files / BIG).read_bytes()


def test_throttled_download_completes_intact(server: ImdbServer, files: Path) -> None:
    server.faults.throttle(400_000)
    r = requests.get(server.url(SMALL), headers={"Range": "bytes=0-39999"}, timeout=30)
    assert r.status_code == 206 and r.content == (files / SMALL).read_bytes()
    assert server.requests_for(SMALL)[-1].body_bytes == len(r.content)


def test_ignore_range_answers_200_with_everything(server: ImdbServer, files: Path) -> None:
    server.faults.ignore_range(file=BIG)
    r = requests.get(server.url(BIG), headers={"Range": "bytes=100-"}, timeout=10)
    assert r.status_code == 200 and r.content == (files / BIG).read_bytes()
    assert "Content-Range" not in r.headers
    assert requests.get(server.url(SMALL), headers={"Range": "bytes=100-"}, timeout=10).status_code == 206


def test_per_file_rule_wins_and_clear_switches_off(server: ImdbServer) -> None:
    server.faults.fail(503, times=None)
    server.faults.fail(429, times=None, file=SMALL)
    assert requests.get(server.url(SMALL), timeout=10).status_code == 429
    assert requests.get(server.url(BIG), timeout=10).status_code == 503
    server.faults.clear(SMALL)
    assert requests.get(server.url(SMALL), timeout=10).status_code == 503
    server.faults.clear()
    assert requests.get(server.url(SMALL), timeout=10).status_code == 200
    with pytest.raises(ValueError, match="times"):
        server.faults.fail(503, times=0)
    with pytest.raises(ValueError, match="status"):
        server.faults.fail(200)


# --------------------------------------------------------------------------- concurrency and the log


def test_concurrent_downloads_of_all_files(server: ImdbServer, files: Path) -> None:
    names = [ds.file_name for ds in registry.DATASETS] * 3

    def fetch(name: str) -> tuple[str, bytes]:
        return name, requests.get(server.url(name), timeout=30).content

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(fetch, names))
    for name, body in results:
        assert body == (files / name).read_bytes(), name
    assert server.counts() == {ds.file_name: 3 for ds in registry.DATASETS}


def test_request_log_keeps_headers(server: ImdbServer) -> None:
    requests.get(server.url(SMALL), headers={"X-Probe": "42", "Range": "bytes=0-9"}, timeout=10)
    (logged,) = server.requests
    assert (logged.method, logged.path, logged.status) == ("GET", SMALL, 206)
    assert logged.header("x-probe") == "42" and logged.header("Range") == "bytes=0-9"
    server.clear_log()
    assert server.requests == []


def test_stop_frees_the_port(files: Path) -> None:
    srv = ImdbServer(files).start()
    url = srv.url(SMALL)
    assert requests.get(url, timeout=10).status_code == 200
    srv.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_cli_prints_the_url_and_serves_with_faults(files: Path) -> None:
    cmd = [sys.executable, "-m", "imdb_devkit.server_cli", "--dir", str(files), "--fail", "503"]
    proc = subprocess.Popen([*cmd, "--retry-after", "1"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/")
        first = requests.get(base_url + SMALL, timeout=10)
        assert first.status_code == 503 and first.headers["Retry-After"] == "1"
        assert requests.get(base_url + SMALL, timeout=10).content == (files / SMALL).read_bytes()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_refuses_a_missing_directory(tmp_path: Path) -> None:
    from imdb_devkit import server_cli

    assert server_cli.main(["--dir", str(tmp_path / "nope")]) == 2
