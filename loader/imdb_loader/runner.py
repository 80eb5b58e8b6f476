"""Run several dataset loads, ``parallel`` at a time, and stop them all on request.

The loads run on worker threads even when there is one, so the main thread stays free: a
SIGTERM (what Kubernetes sends) or Ctrl-C is handled at once, whatever PostgreSQL is doing,
and every load that has not swapped yet is cancelled and recorded as failed.
"""

from __future__ import annotations

import logging
import threading
import time

from imdb_loader.config import LoadConfig, describe_dsn
from imdb_loader.datasets import Dataset
from imdb_loader.errors import LoaderError
from imdb_loader.load import DatasetLoad, LoadResult
from imdb_loader.outcome import LoadStatus

STOP_GRACE_S = 30.0
"""After a stop, how long the loads get to roll back and record their end."""


class LoadRunner:
    def __init__(self, datasets: list[Dataset], cfg: LoadConfig, parallel: int = 1) -> None:
        self.loads = [DatasetLoad(ds, cfg) for ds in datasets]
        self.cfg = cfg
        self.parallel = max(1, min(parallel, len(self.loads)))
        self.stopped: LoaderError | None = None
        self._results: dict[int, LoadResult] = {}
        self._pending = list(range(len(self.loads)))
        self._lock = threading.Lock()

    def stop(self, error: LoaderError) -> None:
        """Thread- and signal-safe: no load starts after this, and running ones end before their swap."""
        self.stopped = error
        for load in self.loads:
            load.stop(error)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    return
                index = self._pending.pop(0)
            load = self.loads[index]
            if self.stopped is not None:
                self._results[index] = self._not_run(load)
                continue
            self._results[index] = load.run()

    def _not_run(self, load: DatasetLoad) -> LoadResult:
        assert self.stopped is not None
        return LoadResult(
            load.ds.name,
            LoadStatus.FAILED,
            load.run_id,
            error=f"{load.ds.name}: not started: {self.stopped}",
            exit_code=int(self.stopped.exit_code),
        )

    def run(self) -> list[LoadResult]:
        """Results in registry order."""
        logging.getLogger("imdb_loader.load").info(
            "loading %s into %s (schema %s)",
            ", ".join(load.ds.name for load in self.loads),
            describe_dsn(self.cfg.dsn),
            self.cfg.schema,
        )
        threads = [
            threading.Thread(target=self._work, name=f"imdb-load-{n}", daemon=True) for n in range(self.parallel)
        ]
        for thread in threads:
            thread.start()
        deadline: float | None = None
        for thread in threads:
            # Short joins: the main thread runs signal handlers only between them.
            while thread.is_alive():
                if self.stopped is not None and deadline is None:
                    deadline = time.monotonic() + STOP_GRACE_S
                if deadline is not None and time.monotonic() > deadline:
                    break
                thread.join(timeout=0.2)
        return [self._results.get(i) or self._not_run(load) for i, load in enumerate(self.loads)]


def load_many(datasets: list[Dataset], cfg: LoadConfig, parallel: int = 1) -> list[LoadResult]:
    """Load datasets, ``parallel`` at a time; results in registry order."""
    return LoadRunner(datasets, cfg, parallel).run()
