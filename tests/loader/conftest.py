"""Loader test bed: synthetic files, served over real HTTP, loaded into real PostgreSQL 18."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest

from imdb_devkit import synth
from imdb_devkit.server import ImdbServer, serve
from imdb_loader import cli

SCALE = 0.002


@pytest.fixture(scope="session")
def clean_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    synth.generate(out, SCALE, seed=11, clean=True, jobs=2)
    return out


@pytest.fixture(scope="session")
def dirty_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    synth.generate(out, SCALE, seed=12, dirty_rate=0.01, jobs=2)
    return out


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, ImdbServer]]:
    """An empty folder served over HTTP; tests put the files they want in it."""
    root = tmp_path / "site"
    root.mkdir()
    with serve(root) as server:
        yield root, server


def publish(root: Path, source: Path, *names: str) -> None:
    for name in names:
        shutil.copyfile(source / f"{name}.tsv.gz", root / f"{name}.tsv.gz")


def write_gz(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines), mtime=0))


Runner = Callable[..., int]


@pytest.fixture
def run_load(fresh_db: str, site: tuple[Path, ImdbServer]) -> Runner:
    """Run the imdb-load CLI in-process against the fresh database and the site."""

    def run(*args: str) -> int:
        return cli.main([*args, "--dsn", fresh_db, "--base-url", site[1].base_url])

    return run


def query(dsn: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.close()
    return rows
