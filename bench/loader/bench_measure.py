"""Run a command as a child of its own and measure it: wall seconds and that child's peak RSS.

``os.wait4`` returns the resource usage of exactly the process it reaped, so each
measurement is the child's own high-water mark (``ru_maxrss``), not the running maximum
over every child so far that ``getrusage(RUSAGE_CHILDREN)`` would give.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measured:
    seconds: float
    returncode: int
    peak_rss_mb: float
    cpu_seconds: float
    """User + system CPU of the child itself (the server's work is not in it)."""
    stdout: str
    stderr: str

    def tail(self, lines: int = 5) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " | ".join(text[-lines:])


def _start(cmd: Sequence[str], env: Mapping[str, str], out: Path, err: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as stdout, err.open("wb") as stderr:
        return subprocess.Popen(list(cmd), env=dict(env), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, float, float]:
    """(return code, peak RSS in MB, CPU seconds) of one child; Popen is told, so it never waits again."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime  # maxrss is in KiB


def run_measured(cmd: Sequence[str], env: Mapping[str, str]) -> Measured:
    return run_parallel_measured([cmd], env)[0]


def run_parallel_measured(cmds: Sequence[Sequence[str]], env: Mapping[str, str]) -> list[Measured]:
    """Start every command at once; each result's seconds is the wall time until *all* ended."""
    with tempfile.TemporaryDirectory(prefix="imdb-bench-run-") as tmp:
        files = [(Path(tmp) / f"{i}.out", Path(tmp) / f"{i}.err") for i in range(len(cmds))]
        started = time.monotonic()
        procs = [_start(cmd, env, out, err) for cmd, (out, err) in zip(cmds, files, strict=True)]
        reaped = [_reap(p) for p in procs]
        seconds = time.monotonic() - started
        return [
            Measured(
                seconds=seconds,
                returncode=code,
                peak_rss_mb=rss,
                cpu_seconds=cpu,
                stdout=out.read_text(errors="replace"),
                stderr=err.read_text(errors="replace"),
            )
            for (code, rss, cpu), (out, err) in zip(reaped, files, strict=True)
        ]
