"""Bad rows go to load_rejects; over the limit the load fails and the old table stays live."""

from __future__ import annotations

import gzip
from pathlib import Path

from imdb_loader import datasets
from imdb_loader.errors import ExitCode

from .conftest import Runner, publish, query, write_gz

RATINGS = datasets.get("title.ratings")
HEADER = "\t".join(RATINGS.header).encode()
GOOD = [b"tt0000001\t7.5\t100", b"tt0000002\t6.0\t20", b"tt0000003\t8.1\t3000"]
BAD = {
    b"tt0000004\t7.0": "expected 3 fields, found 2",
    b"tt0000005\tseven\t10": 'average_rating: invalid input syntax for type numeric: "seven"',
    b"tt0000006\t7.0\t1\xff0": "invalid UTF-8 at byte 16",
    b"tt0000007\t7.0\t1\x000": "NUL byte inside the line",
    b"tt0000008\t7.0\t10\r": "carriage return (CR) inside the line",
    b"tt0000009\t123.4\t10": "average_rating: numeric field overflow",
    b"\\N\t5.0\t10": "tconst: \\N in a key column",
    b"tt0000001\t9.9\t1": "duplicate key (tconst)=(tt0000001), first seen on line 2",
}


def ratings_file(root: Path, bad: list[bytes]) -> None:
    write_gz(root / RATINGS.file_name, [HEADER, *GOOD, *bad])


def test_each_kind_of_bad_row_is_rejected_with_line_and_reason(site, run_load: Runner, fresh_db: str) -> None:
    root, _ = site
    ratings_file(root, list(BAD))
    assert run_load("title.ratings", "--reject-limit", str(len(BAD))) == ExitCode.OK
    rejects = query(fresh_db, "SELECT line_number, reason, raw_line, raw_bytes FROM imdb_raw.load_rejects")
    by_line = {line: (reason, raw, raw_bytes) for line, reason, raw, raw_bytes in rejects}
    for offset, (raw, reason) in enumerate(BAD.items()):
        line = 2 + len(GOOD) + offset
        got_reason, got_raw, got_bytes = by_line[line]
        assert reason in got_reason, f"line {line}"
        stored = bytes(got_bytes) if got_bytes is not None else got_raw.encode()
        assert stored == raw.rstrip(b"\r") or stored == raw, f"line {line} raw text"
    assert query(fresh_db, "SELECT tconst, average_rating::text FROM imdb_raw.title_ratings ORDER BY 1") == [
        ("tt0000001", "7.5"),
        ("tt0000002", "6.0"),
        ("tt0000003", "8.1"),
    ]
    run = query(fresh_db, "SELECT status, rows_loaded, rows_rejected FROM imdb_raw.load_runs")
    assert run == [("loaded", 3, len(BAD))]


def test_just_under_and_just_over_the_limit(site, run_load: Runner, fresh_db: str, capsys) -> None:
    root, _ = site
    bad = list(BAD)[:3]
    ratings_file(root, bad)
    assert run_load("title.ratings", "--reject-limit", "3") == ExitCode.OK
    ratings_file(root, [*bad, b"tt0000010\tten\t1"])
    code = run_load("title.ratings", "--reject-limit", "3")
    assert code == ExitCode.TOO_MANY_REJECTS
    err = capsys.readouterr().err
    assert "4 of 7 rows rejected, over the limit of 3" in err
    assert "line 5: expected 3 fields, found 2" in err, "the first reasons are named"
    assert "previous table stays live" in err
    live = query(fresh_db, "SELECT count(*) FROM imdb_raw.title_ratings")
    assert live == [(3,)], "the previous good load is still what readers see"
    statuses = query(fresh_db, "SELECT status FROM imdb_raw.load_runs ORDER BY started_at")
    assert statuses == [("loaded",), ("failed",)]


def test_fraction_limit(site, run_load: Runner, fresh_db: str) -> None:
    root, _ = site
    ratings_file(root, list(BAD)[:1])  # 1 bad of 4 rows
    assert run_load("title.ratings", "--reject-limit", "0.2") == ExitCode.TOO_MANY_REJECTS
    assert run_load("title.ratings", "--reject-limit", "0.25") == ExitCode.OK


def test_zero_limit_stops_at_the_first_bad_row_without_a_second_read(site, run_load: Runner, capsys) -> None:
    root, server = site
    ratings_file(root, list(BAD)[1:2])
    assert run_load("title.ratings", "--reject-limit", "0") == ExitCode.TOO_MANY_REJECTS
    err = capsys.readouterr().err
    assert 'line 5, column average_rating: invalid input syntax for type numeric: "seven"' in err
    assert server.count(RATINGS.file_name, "GET") == 1


def test_fast_path_duplicates_are_rejected_with_their_source_lines(
    dirty_files: Path, site, run_load: Runner, fresh_db: str
) -> None:
    root, _ = site
    publish(root, dirty_files, "title.basics", "title.principals")
    assert run_load("title.basics", "title.principals", "--reject-limit", "0.05") == ExitCode.OK
    for name in ("title.basics", "title.principals"):
        ds = datasets.get(name)
        with gzip.open(dirty_files / ds.file_name, "rb") as f:
            lines = f.read().split(b"\n")
        rejects = query(
            fresh_db, "SELECT line_number, reason, raw_line FROM imdb_raw.load_rejects WHERE dataset = %s", (name,)
        )
        assert rejects, f"{name}: the dirty file has duplicate keys"
        keys = len(ds.primary_key)
        for line_number, reason, raw in rejects:
            source = lines[line_number - 1]
            assert reason.startswith("duplicate key"), reason
            assert source.split(b"\t")[:keys] == raw.encode().split(b"\t")[:keys], f"{name} line {line_number}"
            first_line = int(reason.rsplit(" ", 1)[1])
            assert first_line < line_number
            assert lines[first_line - 1].split(b"\t")[:keys] == source.split(b"\t")[:keys]
        table_rows = query(fresh_db, f"SELECT count(*) FROM imdb_raw.{ds.table}")[0][0]
        assert table_rows + len(rejects) == len(lines) - 2


def test_duplicates_far_apart_name_their_own_line_and_the_first_copy(site, run_load: Runner, fresh_db: str) -> None:
    """Copies many pages apart, and a key three times: every later copy names its own line and
    the first copy's, whatever page either sits on."""
    root, _ = site
    rows = [f"tt{i:07d}\t5.0\t{i}".encode() for i in range(1, 30_001)]
    copies = [rows[0], rows[14_999], rows[0], rows[29_999]]
    write_gz(root / RATINGS.file_name, [HEADER, *rows[:20_000], copies[0], *rows[20_000:], *copies[1:]])
    assert run_load("title.ratings", "--reject-limit", "0.01") == ExitCode.OK
    rejects = query(fresh_db, "SELECT line_number, reason FROM imdb_raw.load_rejects ORDER BY line_number")
    assert rejects == [
        (20_002, "duplicate key (tconst)=(tt0000001), first seen on line 2"),
        (30_003, "duplicate key (tconst)=(tt0015000), first seen on line 15001"),
        (30_004, "duplicate key (tconst)=(tt0000001), first seen on line 2"),
        (30_005, "duplicate key (tconst)=(tt0030000), first seen on line 30002"),
    ]
    assert query(fresh_db, "SELECT count(*), count(DISTINCT tconst) FROM imdb_raw.title_ratings") == [(30_000, 30_000)]


def test_header_change_fails_with_expected_and_got(site, run_load: Runner, fresh_db: str, capsys) -> None:
    root, _ = site
    ratings_file(root, [])
    assert run_load("title.ratings") == ExitCode.OK
    write_gz(root / RATINGS.file_name, [b"tconst\taverageRating\tnumVotes\tvoteDate", b"tt1\t1.0\t1\t2026"])
    assert run_load("title.ratings") == ExitCode.SOURCE_FORMAT_CHANGED
    err = capsys.readouterr().err
    assert "the header changed (unexpected voteDate)" in err
    assert "expected tconst | averageRating | numVotes; got tconst | averageRating | numVotes | voteDate" in err
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.title_ratings") == [(3,)]


def test_a_truncated_gzip_is_never_loaded(site, run_load: Runner, fresh_db: str, capsys) -> None:
    root, _ = site
    ratings_file(root, [])
    assert run_load("title.ratings") == ExitCode.OK
    whole = gzip.compress(b"\n".join([HEADER, *GOOD, b"tt0000004\t1.0\t1"]) + b"\n", mtime=0)
    (root / RATINGS.file_name).write_bytes(whole[:-12])  # the trailer and a little data are gone
    assert run_load("title.ratings") == ExitCode.SOURCE_UNAVAILABLE
    assert "gzip stream is truncated" in capsys.readouterr().err
    assert query(fresh_db, "SELECT count(*) FROM imdb_raw.title_ratings") == [(3,)]
    assert query(fresh_db, "SELECT status FROM imdb_raw.load_runs ORDER BY started_at DESC LIMIT 1") == [("failed",)]
