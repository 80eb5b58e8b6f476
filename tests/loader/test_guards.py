"""Hostile sources and servers: nothing is lost, nothing hangs, every failure is one line.

Each test reproduces a case where the loader used to lose data, answer wrongly with exit 0,
hang, or crash, against the real PostgreSQL 18 and the local IMDb server.
"""

from __future__ import annotations

import gzip
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imdb_loader import datasets
from imdb_loader.errors import ExitCode

from .conftest import Runner, query, write_gz

pytestmark = pytest.mark.postgres

RATINGS = datasets.get("title.ratings")
HEADER = "\t".join(RATINGS.header).encode()


def ratings(n: int, start: int = 1) -> list[bytes]:
    return [b"tt%07d\t%d.%d\t%d" % (i, 1 + i % 9, i % 10, 10 + i) for i in range(start, start + n)]


def publish_ratings(root: Path, rows: list[bytes], header: bytes = HEADER) -> None:
    write_gz(root / RATINGS.file_name, [header, *rows])
    time.sleep(0.01)  # a new mtime: a new ETag even on coarse clocks


def live(dsn: str) -> int:
    return int(query(dsn, "SELECT count(*) FROM imdb_raw.title_ratings")[0][0])


def last_run(dsn: str, columns: str = "status, error") -> tuple[object, ...]:
    return query(dsn, f"SELECT {columns} FROM imdb_raw.load_runs ORDER BY started_at DESC LIMIT 1")[0]


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1] if lines else ""


@pytest.fixture
def loaded(site, run_load: Runner, fresh_db: str) -> Path:
    """title.ratings with 200 rows live."""
    root, _ = site
    publish_ratings(root, ratings(200))
    assert run_load("title.ratings") == ExitCode.OK
    return root


class TestShrinkGuard:
    def test_a_header_only_file_never_replaces_the_live_table(self, loaded, run_load, fresh_db, capsys) -> None:
        publish_ratings(loaded, [])
        capsys.readouterr()
        assert run_load("title.ratings") == ExitCode.SOURCE_FORMAT_CHANGED
        line = last_line(capsys)
        assert "the new version has 0 rows, under this dataset's floor of 1" in line, line
        assert live(fresh_db) == 200
        assert last_run(fresh_db, "status, rows_read, previous_rows") == ("failed", 0, 200)

    def test_a_shrunk_file_is_refused_with_both_counts(self, loaded, run_load, fresh_db, capsys) -> None:
        publish_ratings(loaded, ratings(10))
        capsys.readouterr()
        assert run_load("title.ratings") == ExitCode.SOURCE_FORMAT_CHANGED
        line = last_line(capsys)
        assert "the new version has 10 rows where the live table has 200 (5.0%, under the minimum of 90%)" in line
        assert "--min-rows-ratio or --allow-shrink" in line
        assert live(fresh_db) == 200
        status, error, read, previous = last_run(fresh_db, "status, error, rows_read, previous_rows")
        assert (status, read, previous) == ("failed", 10, 200) and "10 rows" in str(error)

    def test_a_small_shrink_passes_and_the_overrides_work(self, loaded, run_load, fresh_db) -> None:
        publish_ratings(loaded, ratings(185))  # 92.5 %: a normal day can lose a few rows
        assert run_load("title.ratings") == ExitCode.OK
        assert live(fresh_db) == 185
        publish_ratings(loaded, ratings(20))
        assert run_load("title.ratings", "--min-rows-ratio", "0.1") == ExitCode.OK
        assert live(fresh_db) == 20
        publish_ratings(loaded, [])
        assert run_load("title.ratings", "--min-rows-ratio", "0") == ExitCode.SOURCE_FORMAT_CHANGED, "floor holds"
        assert run_load("title.ratings", "--allow-shrink") == ExitCode.OK
        assert live(fresh_db) == 0

    def test_bad_ratio_is_a_bad_argument(self, run_load) -> None:
        assert run_load("title.ratings", "--min-rows-ratio", "1.5") == ExitCode.BAD_ARGUMENTS


class TestUnchangedMeansLive:
    def test_a_b_a_reloads_a(self, loaded, site, fresh_db: str, tmp_path: Path) -> None:
        from imdb_devkit.server import serve
        from imdb_loader import cli

        other = tmp_path / "other"
        other.mkdir()
        publish_ratings(other, ratings(210, start=5000))
        with serve(other) as server_b:
            url_a, url_b = site[1].base_url, server_b.base_url
            assert cli.main(["title.ratings", "--dsn", fresh_db, "--base-url", url_b, "--force"]) == ExitCode.OK
            assert live(fresh_db) == 210
            assert cli.main(["title.ratings", "--dsn", fresh_db, "--base-url", url_a]) == ExitCode.OK
        assert last_run(fresh_db, "status") == ("loaded",), "A's data is not live, so A is loaded again"
        assert live(fresh_db) == 200
        assert query(fresh_db, "SELECT min(tconst) FROM imdb_raw.title_ratings") == [("tt0000001",)]

    def test_a_dropped_table_is_loaded_again(self, loaded, run_load: Runner, fresh_db: str) -> None:
        assert run_load("title.ratings") == ExitCode.OK
        assert last_run(fresh_db, "status") == ("unchanged",)
        query(fresh_db, "DROP TABLE imdb_raw.title_ratings; SELECT 1")
        assert run_load("title.ratings") == ExitCode.OK
        assert last_run(fresh_db, "status") == ("loaded",)
        assert live(fresh_db) == 200


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def imdb_load(*args: str, timeout: float = 90) -> tuple[int, str, float]:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "imdb_loader.cli", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return out.returncode, out.stderr, time.monotonic() - started


class TestNoHangs:
    def test_a_silent_database_fails_within_the_connect_timeout(self, silent_server: int) -> None:
        dsn = f"postgresql://nobody@127.0.0.1:{silent_server}/imdb"
        code, err, took = imdb_load("title.ratings", "--dsn", dsn, "--base-url", "http://127.0.0.1:9/")
        assert code == ExitCode.DATABASE_ERROR, err
        assert "timeout expired" in err.strip().splitlines()[-1], err
        assert took < 10 + 20, f"the default connect_timeout is 10 s, took {took:.0f} s"

    def test_the_dsn_overrides_the_connect_timeout(self, silent_server: int) -> None:
        dsn = f"postgresql://nobody@127.0.0.1:{silent_server}/imdb?connect_timeout=2"
        code, err, took = imdb_load("title.ratings", "--dsn", dsn, "--base-url", "http://127.0.0.1:9/")
        assert code == ExitCode.DATABASE_ERROR, err
        assert took < 2 + 8

    def test_short_statements_are_bounded_and_long_ones_kept_alive(
        self, loaded, site, fresh_db: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A check or audit statement stuck behind a lock ends at the statement timeout (shortened
        here from 30 s), and every connection carries the keepalive and TCP user timeout defaults."""
        import psycopg2

        from imdb_loader import connection
        from imdb_loader.audit import _SETUP_LOCK_KEY
        from imdb_loader.config import LoadConfig
        from imdb_loader.load import DatasetLoad

        conn = connection.connect(fresh_db, autocommit=True)
        params = conn.get_dsn_parameters()
        assert (params["connect_timeout"], params["keepalives_idle"], params["tcp_user_timeout"]) == (
            "10",
            "30",
            "300000",
        )
        conn.close()
        monkeypatch.setattr(connection, "SHORT_STATEMENT_TIMEOUT", "1s")
        blocker = psycopg2.connect(fresh_db)
        blocker.autocommit = True
        blocker.cursor().execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))  # first-time DDL waits for it
        started = time.monotonic()
        result = DatasetLoad(RATINGS, LoadConfig(dsn=fresh_db, base_url=site[1].base_url, force=True)).run()
        blocker.close()
        assert result.exit_code == ExitCode.DATABASE_ERROR
        assert "statement timeout" in (result.error or "")
        assert time.monotonic() - started < 10
        assert live(fresh_db) == 200

    def test_a_silent_source_is_given_up_within_the_source_timeout(
        self, silent_server: int, fresh_db: str, capsys
    ) -> None:
        base = f"http://127.0.0.1:{silent_server}/"
        code, err, took = imdb_load("title.ratings", "--dsn", fresh_db, "--base-url", base, "--source-timeout", "4")
        assert code == ExitCode.SOURCE_UNAVAILABLE, err
        assert "connected, but no answer within 4s" in err, "says what it waited for"
        assert "no usable answer within the source timeout of 4s" in err.strip().splitlines()[-1]
        assert took < 4 + 10


def gz_with_header(header: bytes, rows: list[bytes]) -> bytes:
    return gzip.compress(header + b"\n" + b"".join(r + b"\n" for r in rows), mtime=0)


class TestOneLineErrors:
    @pytest.mark.parametrize(
        ("header", "shown"),
        [
            (b"tconst\taverage\x00Rating\tnumVotes", "average\\x00Rating"),
            (HEADER + b"\r", "it ends with \\r\\n (Windows line endings)"),
            (b"\xef\xbb\xbf" + HEADER, "it starts with a UTF-8 byte-order mark \\xef\\xbb\\xbf"),
            (b"tconst\t\xffRating\tnumVotes", "\\xffRating"),
        ],
    )
    def test_odd_header_bytes_are_shown_escaped(  # noqa: PLR0917 - parameters and fixtures
        self, header, shown, loaded, run_load, fresh_db, capsys
    ) -> None:
        (loaded / RATINGS.file_name).write_bytes(gz_with_header(header, ratings(200)))
        capsys.readouterr()
        assert run_load("title.ratings") == ExitCode.SOURCE_FORMAT_CHANGED
        line = last_line(capsys)
        assert "the header changed" in line and shown in line, line
        assert last_run(fresh_db, "status") == ("failed",), "never left 'running'"
        assert live(fresh_db) == 200

    def test_a_double_gzipped_file(self, loaded, run_load, fresh_db, capsys) -> None:
        (loaded / RATINGS.file_name).write_bytes(gzip.compress(gz_with_header(HEADER, ratings(200)), mtime=0))
        capsys.readouterr()
        assert run_load("title.ratings") == ExitCode.SOURCE_FORMAT_CHANGED
        assert "the file is compressed twice" in last_line(capsys)
        assert last_run(fresh_db, "status") == ("failed",)

    def test_a_bad_checksum_is_a_corrupt_download_worth_a_retry(self, loaded, run_load, fresh_db, capsys) -> None:
        body = bytearray(gz_with_header(HEADER, ratings(300)))
        body[-8] ^= 0xFF  # the CRC-32 in the trailer
        (loaded / RATINGS.file_name).write_bytes(bytes(body))
        capsys.readouterr()
        assert run_load("title.ratings") == ExitCode.SOURCE_UNAVAILABLE
        assert "the download is corrupt" in last_line(capsys)
        assert live(fresh_db) == 200

    def test_result_file_problems_are_found_before_loading(self, loaded, run_load, fresh_db, capsys) -> None:
        runs = len(query(fresh_db, "SELECT 1 FROM imdb_raw.load_runs"))
        assert run_load("title.ratings", "--result-file", str(loaded)) == ExitCode.BAD_ARGUMENTS
        assert f"result-file: {loaded} is a directory" in last_line(capsys)
        assert len(query(fresh_db, "SELECT 1 FROM imdb_raw.load_runs")) == runs, "nothing ran"

    def test_a_result_file_that_cannot_be_written_is_one_line_with_the_outcome(
        self, loaded, run_load, fresh_db, capsys
    ) -> None:
        publish_ratings(loaded, ratings(210))
        capsys.readouterr()
        assert run_load("title.ratings", "--result-file", "/dev/full") == ExitCode.RESULT_NOT_WRITTEN
        err = capsys.readouterr().err
        assert "title.ratings: loaded 210 rows" in err
        assert "could not write the result file /dev/full (No space left on device)" in err.strip().splitlines()[-1]
        assert "Traceback" not in err
        assert live(fresh_db) == 210


class TestValues:
    """What PostgreSQL would accept and change without a word: decided, one by one."""

    def test_nan_too_many_decimals_and_an_empty_key_are_rejected(self, site, run_load, fresh_db) -> None:
        root, _ = site
        bad = [b"tt0000901\tNaN\t10", b"tt0000902\t5.55\t10", b"\t5.0\t10"]
        publish_ratings(root, [*ratings(100), *bad])
        assert run_load("title.ratings", "--reject-limit", "3") == ExitCode.OK
        reasons = dict(query(fresh_db, "SELECT line_number, reason FROM imdb_raw.load_rejects ORDER BY 1"))
        assert reasons == {
            102: "average_rating: NaN is not a number",
            103: "average_rating: 5.55 has more than 1 decimal place(s); storing it would round it",
            104: "tconst: empty key",
        }
        assert live(fresh_db) == 100

    @pytest.mark.parametrize("row", [b"tt0000901\tNaN\t10", b"tt0000902\t5.55\t10", b"\t5.0\t10"])
    def test_the_fast_path_refuses_each_alone(self, row: bytes, site, run_load, fresh_db) -> None:
        root, _ = site
        publish_ratings(root, [*ratings(100), row])
        assert run_load("title.ratings") == ExitCode.OK
        assert query(fresh_db, "SELECT line_number FROM imdb_raw.load_rejects") == [(102,)]
        assert query(fresh_db, "SELECT rows_rejected FROM imdb_raw.load_runs") == [(1,)]

    def test_a_number_keeps_its_value_and_a_rating_its_digits(self, site, run_load, fresh_db) -> None:
        """Spaces around a number are read as PostgreSQL reads a number (the fast path cannot
        see them without a per-byte scan: see the README); a rating is stored as written."""
        root, _ = site
        publish_ratings(root, [b"tt0000001\t7\t 12", b"tt0000002\t10.0\t7 "])
        assert run_load("title.ratings", "--min-rows-ratio", "0") == ExitCode.OK
        assert query(
            fresh_db, "SELECT tconst, average_rating::text, num_votes FROM imdb_raw.title_ratings ORDER BY 1"
        ) == [("tt0000001", "7", 12), ("tt0000002", "10.0", 7)]

    def test_an_over_long_key_is_one_reject_not_a_failed_dataset(self, site, run_load, fresh_db) -> None:
        root, _ = site
        long_key = b"tt" + random.Random(7).randbytes(6_000).hex().encode()  # 12 kB that do not compress
        publish_ratings(root, [*ratings(100), long_key + b"\t5.0\t10", *ratings(5, start=500)])
        assert run_load("title.ratings") == ExitCode.OK
        [(line, reason)] = query(fresh_db, "SELECT line_number, reason FROM imdb_raw.load_rejects")
        assert line == 102
        assert reason == "tconst: 12,002 bytes, too long for an index entry (at most 2,600)"
        assert live(fresh_db) == 105
        assert run_load("title.ratings", "--force") == ExitCode.OK, "and the next load works too"
