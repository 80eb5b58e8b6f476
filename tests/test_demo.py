"""The front door: `make demo` loads everything, then skips everything as unchanged."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from imdb_loader import datasets

from .conftest import REPO_ROOT


@pytest.mark.postgres
def test_demo_loads_then_skips_all_seven() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "demo.py"), "--scale", "0.0005", "--skip-dbt"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    tables = out.stdout.split("Running again: the source is unchanged")
    assert len(tables) == 2
    first, second = tables
    for ds in datasets.DATASETS:
        assert re.search(rf"^{re.escape(ds.name)}\s+loaded\s+[1-9][\d,]*\s", first, re.MULTILINE), ds.name
        assert re.search(rf"^{re.escape(ds.name)}\s+unchanged\s+0\s", second, re.MULTILINE), ds.name
    assert "<dsn>" in out.stdout and "postgresql://" not in out.stdout, "the DSN (and its password) is not shown"
