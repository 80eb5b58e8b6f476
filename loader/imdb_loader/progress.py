"""Progress lines every few seconds: rows, MB, rows/s and an ETA from the compressed bytes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imdb_loader.logs import DatasetLog


def human_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.0f} k"
    return f"{value:.0f} "


@dataclass
class Progress:
    log: DatasetLog
    total_compressed: int | None
    compressed: Callable[[], int]
    every_s: float = 5.0
    started: float = field(default_factory=time.monotonic)
    _last: float = field(default_factory=time.monotonic)

    def tick(self, rows: int, uncompressed: int) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-6)
        rate = rows / elapsed
        done = self.compressed()
        eta_text, eta = "", None
        if self.total_compressed and done:
            fraction = min(done / self.total_compressed, 1.0)
            eta = elapsed * (1 - fraction) / max(fraction, 1e-9)
            eta_text = f", {fraction:.0%} of {self.total_compressed / 1e6:.1f} MB gz, ETA {eta:.0f}s"
        self.log.info(
            "copy: %s rows, %.1f MB read, %srows/s%s",
            f"{rows:,}",
            uncompressed / 1e6,
            human_rate(rate),
            eta_text,
            extra={
                "phase": "copy",
                "rows": rows,
                "mb": round(uncompressed / 1e6, 1),
                "rows_per_s": round(rate),
                "eta_s": None if eta is None else round(eta),
            },
        )
