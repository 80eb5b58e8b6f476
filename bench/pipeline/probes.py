"""What the run is sampled for, about once a second, in a background thread: the database's size
(``pg_database_size``), the server's data directory on disk (tables, indexes, WAL, temporary
files: what a volume must hold) and the server's memory (the sum of its processes' proportional
set sizes, so shared buffers count once)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from phases import Phase


def directory_bytes(root: Path) -> int:
    """Bytes allocated on disk under ``root``; files that vanish while we walk are skipped."""
    total = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command may contain spaces and parentheses: the ppid follows the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry.name))
    return kids


def server_pss_bytes(postmaster: int) -> int:
    """Proportional set size of the postmaster and its backends, summed."""
    total = 0
    for pid in [postmaster, *_children(postmaster)]:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


@dataclass
class Sample:
    seconds: float
    phase: str
    database_bytes: int
    data_dir_bytes: int
    server_pss_bytes: int


@dataclass
class Sampler:
    """Start it, set ``phase`` as the run goes on, stop it; ``samples`` holds what it saw."""

    dsn: str
    data_dir: Path
    postmaster: int | None
    interval: float = 1.0
    phase: str = Phase.LOADS
    free_bytes_floor: int = 8 * 1024**3
    samples: list[Sample] = field(default_factory=list)
    low_on_disk: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="disk-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.sample_once(psycopg2.connect(self.dsn))

    def _loop(self) -> None:
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            while not self._stop.wait(self.interval):
                self.sample_once(conn)
        finally:
            conn.close()

    def sample_once(self, conn: psycopg2.extensions.connection) -> None:
        with conn.cursor() as cur:
            cur.execute("select pg_database_size(current_database())")
            row = cur.fetchone()
        self.samples.append(
            Sample(
                seconds=round(time.monotonic() - self._started, 2),
                phase=self.phase,
                database_bytes=int(row[0]) if row else 0,
                data_dir_bytes=directory_bytes(self.data_dir),
                server_pss_bytes=server_pss_bytes(self.postmaster) if self.postmaster else 0,
            )
        )
        stat = os.statvfs(self.data_dir)
        if stat.f_bavail * stat.f_frsize < self.free_bytes_floor:
            self.low_on_disk = True
