"""The fast layer: the loader's pure functions, no server, no network, no files beyond tmp_path.

`make test-fast` runs this folder in a few seconds; everything here also runs in `make test`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imdb_loader import datasets, ddl
from imdb_loader.cli import check_result_file, overall_status, write_result_file
from imdb_loader.config import LoadConfig, RejectLimit, describe_dsn
from imdb_loader.connection import CONNECT_DEFAULTS, connection_defaults, sets_statement_timeout
from imdb_loader.errors import ConfigError, ResultFileError, SourceFormatError
from imdb_loader.libpq import pg_env
from imdb_loader.load import LoadResult
from imdb_loader.outcome import ExitCode, LoadStatus
from imdb_loader.rows import check_header, visible

RATINGS = datasets.get("title.ratings")


class TestRejectLimit:
    @pytest.mark.parametrize(("text", "count", "fraction"), [("100", 100, None), ("0.01", None, 0.01), ("0", 0, None)])
    def test_parse(self, text: str, count: int | None, fraction: float | None) -> None:
        limit = RejectLimit.parse(text)
        assert (limit.count, limit.fraction) == (count, fraction)

    @pytest.mark.parametrize("text", ["lots", "1.5", "-1", ""])
    def test_nonsense_names_the_setting(self, text: str) -> None:
        with pytest.raises(ConfigError, match="reject-limit"):
            RejectLimit.parse(text)

    def test_what_it_allows_and_keeps(self) -> None:
        assert RejectLimit.parse("0.01").allowed(1_000) == 10
        assert RejectLimit.parse("0").stops_at_first() and RejectLimit.parse("0.0").stops_at_first()
        assert not RejectLimit.parse("5").stops_at_first()
        assert RejectLimit.parse("5").rejects_to_keep(100) == 105
        assert RejectLimit.parse("0.01").rejects_to_keep(100) is None


class TestConfig:
    def test_bad_values_name_their_key(self) -> None:
        for kwargs, key in (
            ({"schema": "Bad Schema"}, "schema"),
            ({"base_url": "ftp://x/"}, "base-url"),
            ({"dsn": "host='db"}, "dsn"),
            ({"min_rows_ratio": 1.5}, "min-rows-ratio"),
        ):
            with pytest.raises(ConfigError, match=key):
                LoadConfig(**kwargs)  # type: ignore[arg-type]

    def test_describe_dsn_never_shows_the_password(self) -> None:
        assert describe_dsn("postgresql://ann:secret@db:6432/imdb") == "ann@db:6432/imdb"

    def test_connection_defaults_yield_to_the_dsn_and_the_environment(self) -> None:
        assert connection_defaults("", env={}) == CONNECT_DEFAULTS
        mine = connection_defaults("host=db connect_timeout=3 keepalives_idle=5", env={})
        assert "connect_timeout" not in mine and "keepalives_idle" not in mine and mine["keepalives"] == "1"
        assert "connect_timeout" not in connection_defaults("", env={"PGCONNECT_TIMEOUT": "4"})
        assert sets_statement_timeout("options='-c statement_timeout=5s'", env={})
        assert sets_statement_timeout("", env={"PGOPTIONS": "-c statement_timeout=5s"})
        assert not sets_statement_timeout("host=db", env={})


class TestRegistry:
    def test_resolve_expands_all_in_registry_order(self) -> None:
        assert [d.name for d in datasets.resolve(["title.ratings", "all"])] == list(datasets.NAMES)
        assert [d.name for d in datasets.resolve(["title_ratings", "name.basics.tsv.gz"])] == [
            "name.basics",
            "title.ratings",
        ]
        with pytest.raises(datasets.UnknownDatasetError, match="unknown dataset 'nope'"):
            datasets.resolve(["nope"])

    def test_a_decimal_column_is_stored_exactly(self) -> None:
        rating = RATINGS.column("averageRating")
        assert ddl.decimal_digits(rating) == (3, 1)
        assert ddl.storage_type(rating) == "numeric"
        assert ddl.storage_type(RATINGS.column("numVotes")) == "integer"


class TestHeader:
    def test_visible_escapes_what_cannot_be_read_or_stored(self) -> None:
        assert visible(b"a\x00b\rc\td\xff\xef\xbb\xbf\xc3\xa9") == "a\\x00b\\rc\\td\\xff\\xef\\xbb\\xbf\xe9"

    def test_a_matching_header_passes(self) -> None:
        check_header(RATINGS, b"tconst\taverageRating\tnumVotes\n", "u")

    @pytest.mark.parametrize(
        ("header", "says"),
        [
            (b"tconst\taverageRating\tnumVotes\r\n", "ends with \\r\\n"),
            (b"\xef\xbb\xbftconst\taverageRating\tnumVotes\n", "byte-order mark"),
            (b"\x1f\x8b\x08\x00\x00", "compressed twice"),
            (b"numVotes\taverageRating\ttconst\n", "same columns in another order"),
            (b"tconst\taverageRating\n", "missing numVotes"),
        ],
    )
    def test_a_changed_header_says_how(self, header: bytes, says: str) -> None:
        with pytest.raises(SourceFormatError) as raised:
            check_header(RATINGS, header, "http://x/title.ratings.tsv.gz")
        assert says in str(raised.value)
        assert "\x00" not in str(raised.value) and "\r" not in str(raised.value)


class TestResultFile:
    def results(self, *statuses: LoadStatus) -> list[LoadResult]:
        return [LoadResult(f"d{i}", status, f"r{i}") for i, status in enumerate(statuses)]

    def test_overall_status(self) -> None:
        assert overall_status(self.results(LoadStatus.UNCHANGED, LoadStatus.UNCHANGED)) == LoadStatus.UNCHANGED
        assert overall_status(self.results(LoadStatus.UNCHANGED, LoadStatus.LOADED)) == LoadStatus.LOADED
        assert overall_status(self.results(LoadStatus.LOADED, LoadStatus.BUSY)) == LoadStatus.FAILED

    def test_checked_before_loading(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="is a directory"):
            check_result_file(tmp_path)
        check_result_file(tmp_path / "new" / "return.json")
        assert (tmp_path / "new").is_dir()

    def test_written_or_one_error(self, tmp_path: Path) -> None:
        path = tmp_path / "return.json"
        write_result_file(path, self.results(LoadStatus.LOADED))
        assert json.loads(path.read_text())["status"] == "loaded"
        with pytest.raises(ResultFileError, match="could not write the result file /dev/full") as raised:
            write_result_file(Path("/dev/full"), self.results(LoadStatus.LOADED))
        assert raised.value.exit_code == ExitCode.RESULT_NOT_WRITTEN


def test_the_last_line_follows_the_log_format(capsys: pytest.CaptureFixture[str]) -> None:
    from imdb_loader.cli import final_line
    from imdb_loader.logs import configure

    final_line("text", "error: something")
    assert capsys.readouterr().err == "imdb-load: error: something\n"
    configure("json")
    final_line("json", "unexpected error: ValueError: x")
    record = json.loads(capsys.readouterr().err)
    assert (record["level"], record["msg"]) == ("error", "unexpected error: ValueError: x")


def test_a_dsn_becomes_libpq_variables_for_dbt() -> None:
    assert pg_env("postgresql://imdb:s3cret@db.example:6543/warehouse?sslmode=require") == {
        "PGHOST": "db.example",
        "PGPORT": "6543",
        "PGDATABASE": "warehouse",
        "PGUSER": "imdb",
        "PGPASSWORD": "s3cret",
        "PGSSLMODE": "require",
    }
    assert pg_env("host=/var/run/postgresql dbname=imdb") == {
        "PGHOST": "/var/run/postgresql",
        "PGDATABASE": "imdb",
    }
