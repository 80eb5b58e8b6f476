"""`make bench` takes its documented settings: SCALE (or BENCH_SCALE) and REPEAT reach bench.py,
and it runs the loader installed as the image installs it. Dry runs only: nothing is benchmarked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from .conftest import REPO_ROOT


def bench_command(*settings: str) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # Not the settings of a `make test` this runs under, nor of the caller's shell.
    inherited = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SCALE", "BENCH_SCALE", "REPEAT", "BENCH_ARGS"}
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    out = subprocess.run(
        [make, "--no-print-directory", "-n", "bench", *settings],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    (line,) = [x for x in out.replace("\\\n", " ").splitlines() if "bench/loader/bench.py" in x]
    return " ".join(line.split())


@pytest.mark.parametrize(
    ("settings", "scale", "repeat"),
    [
        ((), "0.02", "3"),
        (("SCALE=0.1",), "0.1", "3"),
        (("BENCH_SCALE=0.05", "REPEAT=5"), "0.05", "5"),
        (("SCALE=0.1", "BENCH_SCALE=0.05"), "0.05", "3"),
    ],
)
def test_scale_and_repeat_reach_the_benchmark(settings: tuple[str, ...], scale: str, repeat: str) -> None:
    command = bench_command(*settings)
    assert re.search(rf"--scale {re.escape(scale)} --repeat {repeat}\b", command), command
    assert "--imdb-load .venvs/loader/bin/imdb-load" in command
