"""The benchmark's arithmetic: medians with min–max over the rounds, rates, and the ratios
the targets are judged by, from the records ``bench.py`` stores in results.json."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
PER_DATASET = ("ours", "ceiling", "decompress", "pimdb", "seed-execute_values", "seed-executemany")
CEILING_WITH_GUNZIP = "ceiling+gunzip"
"""The ceiling as the benchmark defines it: server-side COPY plus decompression alone, per round."""
WHOLE = ("ours-parallel", "ours-threads", "ceiling-parallel", "ours-refresh")
LABELS = {
    "ours": "ours: `imdb-load`, one process per dataset, one after another",
    "ours-loader": "ours: the loader's own time (the above without Python's start and imports)",
    "ours-copy": "ours: COPY phase only (HTTP + gunzip + COPY; compare with the INSERT baseline's INSERT phase)",
    "ours-parallel": "ours: seven `imdb-load` processes at once (as the DAG's pods)",
    "ours-threads": "ours: one `imdb-load all --parallel 7` process (seven threads)",
    "ceiling": "ceiling: server-side COPY + same keys + ANALYZE",
    "ceiling-copy": "ceiling: server-side COPY only",
    "ceiling-parallel": "ceiling: seven server-side COPYs + keys at once",
    "decompress": "gunzip alone (the loader's isal gunzip, one core)",
    "pimdb": "pimdb `transfer` (local files, its own tables and keys)",
    "seed-execute_values": "seed: psycopg2 `execute_values`, pages of 10,000",
    "seed-executemany": "seed: psycopg2 `executemany`, batches of 10,000",
    "seed-execute_values-insert": "seed: `execute_values`, INSERT phase only",
    "ours-refresh": "unchanged day: `imdb-load all --parallel 7`, nothing new",
}
SHORT = {
    "ours": "ours",
    "ours-parallel": "ours ×7 parallel",
    "ours-threads": "ours --parallel 7",
    "ceiling": "ceiling",
    "ceiling-parallel": "ceiling ×7 parallel",
    "decompress": "gunzip only",
    "pimdb": "pimdb",
    "seed-execute_values": "seed execute_values",
    "seed-executemany": "seed executemany",
    "ours-copy": "ours COPY phase",
    "ceiling-copy": "ceiling COPY only",
}


@dataclass
class Stat:
    """Seconds over the rounds, with the rows and bytes they moved."""

    seconds: list[float]
    rows: int
    bytes: int
    peak_rss_mb: float | None = None
    prefix: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.median if self.median > 0 else float("inf")

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.median if self.median > 0 else float("inf")

    def rate_range(self) -> tuple[float, float]:
        return self.rows / self.high, self.rows / self.low


def _rss(records: list[Record]) -> float | None:
    values = [r["peak_rss_mb"] for r in records if r.get("peak_rss_mb") is not None]
    return max(values) if values else None


def phase_seconds(record: Record, name: str) -> float:
    """A phase's seconds; ``loader`` is our loader's own time, without the interpreter's start."""
    if name == "loader":
        return float(record["internal_seconds"])
    return float(record.get("phases", {}).get(name, 0.0))


class Summary:
    """Every number the report prints, computed once from the records."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results = results
        self.meta = results["meta"]
        self.files = results["files"]
        self.full_rows = results["rows_at_scale_1"]
        self.by: dict[tuple[str, str], list[Record]] = defaultdict(list)
        for r in results["records"]:
            self.by[(r["contender"], r["dataset"])].append(r)
        self.contenders = [c for c in (*PER_DATASET, *WHOLE) if any(k[0] == c for k in self.by)]

    def dataset(self, contender: str, ds: str, phase: str | None = None) -> Stat | None:
        runs = self.by.get((contender, ds))
        if not runs:
            return None
        seconds = [phase_seconds(r, phase) if phase else r["seconds"] for r in runs]
        first = runs[0]
        return Stat(seconds, first["rows"], first["bytes"], _rss(runs), bool(first.get("prefix")))

    def total(self, contender: str, phase: str | None = None) -> Stat | None:
        """Seven datasets together: per round the sum over datasets (or the one 'all' record)."""
        if contender == CEILING_WITH_GUNZIP:
            rounds, copy = self.per_round(contender), self.total("ceiling", "copy")
            if not rounds or copy is None:
                return None
            return Stat([seconds for seconds, _ in rounds.values()], copy.rows, copy.bytes)
        if contender in WHOLE:
            return self.dataset(contender, "all")
        per_round: dict[int, list[Record]] = defaultdict(list)
        for ds in self.files:
            for r in self.by.get((contender, ds), []):
                per_round[r["round"]].append(r)
        complete = {k: v for k, v in per_round.items() if len(v) == len(self.files)}
        if not complete:
            return None
        seconds = [sum(phase_seconds(r, phase) if phase else r["seconds"] for r in rs) for rs in complete.values()]
        any_round = next(iter(complete.values()))
        runs = [r for rs in complete.values() for r in rs]
        return Stat(
            seconds,
            sum(r["rows"] for r in any_round),
            sum(r["bytes"] for r in any_round),
            _rss(runs),
            any(r.get("prefix") for r in any_round),
        )

    def per_round(self, contender: str, phase: str | None = None) -> dict[int, tuple[float, int]]:
        """Round -> (seconds, rows) of all seven datasets in that round."""
        if contender == CEILING_WITH_GUNZIP:
            copy, gunzip = self.per_round("ceiling", "copy"), self.per_round("decompress")
            return {k: (copy[k][0] + gunzip[k][0], copy[k][1]) for k in sorted(copy.keys() & gunzip.keys())}
        if contender in WHOLE:
            return {r["round"]: (r["seconds"], r["rows"]) for r in self.by.get((contender, "all"), [])}
        grouped: dict[int, list[Record]] = defaultdict(list)
        for ds in self.files:
            for r in self.by.get((contender, ds), []):
                grouped[r["round"]].append(r)
        return {
            k: (sum(phase_seconds(r, phase) if phase else r["seconds"] for r in rs), sum(r["rows"] for r in rs))
            for k, rs in grouped.items()
            if len(rs) == len(self.files)
        }

    def paired(self, a: str, a_phase: str | None, b: str, b_phase: str | None) -> list[float]:
        """Per round, rows/s of ``a`` over rows/s of ``b``: runs made side by side, so a busy
        moment on the machine slows both, and the ratio is steadier than one of medians."""
        ra, rb = self.per_round(a, a_phase), self.per_round(b, b_phase)
        return [
            (ra[k][1] / ra[k][0]) / (rb[k][1] / rb[k][0])
            for k in sorted(ra.keys() & rb.keys())
            if ra[k][0] > 0 and rb[k][0] > 0
        ]

    def full_rows_total(self) -> int:
        return sum(self.full_rows[d] for d in self.files)

    def rows_total(self) -> int:
        return sum(f["rows"] for f in self.files.values())

    def projected(self, contender: str, ds: str | None = None) -> float | None:
        """Seconds at scale 1.0 from this run's rate: rows at scale 1 / measured rows per second."""
        stat = self.total(contender) if ds is None else self.dataset(contender, ds)
        if stat is None:
            return None
        if ds is None and contender not in WHOLE:
            parts = [self.projected(contender, d) for d in self.files]
            return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
        rows = self.full_rows_total() if ds is None else self.full_rows[ds]
        return rows / stat.rows_per_s

    def at_this_scale(self, contender: str) -> float | None:
        """Seconds for every row at this scale; for a prefix, extrapolated from its rate."""
        parts = []
        for ds, f in self.files.items():
            stat = self.dataset(contender, ds)
            if stat is None:
                return None
            parts.append(f["rows"] / stat.rows_per_s)
        return sum(parts)


# -- ratios and targets ------------------------------------------------------------------------------


def speed_ratio(faster: Stat | None, slower: Stat | None) -> float | None:
    """How many times the rows/s of ``faster`` is that of ``slower`` (>1: faster is faster)."""
    if faster is None or slower is None:
        return None
    return faster.rows_per_s / slower.rows_per_s


Target = tuple[str, str, list[float], float, str]
"""(target, how it is measured, per-round ratios, required ratio, why a shortfall happens)."""


def _on_prefix(s: Summary) -> str:
    seed = s.total("seed-execute_values")
    return " (on its prefix)" if seed is not None and seed.prefix else ""


def targets(s: Summary) -> list[Target]:
    """The benchmark's three targets, each measured the way the benchmark defines its reference: the
    ceiling is server-side COPY of the rows into the typed table plus decompression alone, and
    the INSERT baseline is its INSERTs."""
    return [
        (
            "ours ≥ 0.9× the ceiling",
            "(ceiling COPY + gunzip alone) / our COPY phase (HTTP + gunzip + COPY into the fresh table, the two "
            "overlapped), seconds summed over the 7 datasets",
            s.paired("ours", "copy", CEILING_WITH_GUNZIP, None),
            0.9,
            "",
        ),
        (
            "ours ≥ 15× the INSERT baseline's execute_values",
            f"rows/s: our COPY phase / the INSERT baseline's INSERT phase{_on_prefix(s)}",
            s.paired("ours", "copy", "seed-execute_values", "insert"),
            15.0,
            "",
        ),
        (
            "ours ≥ 1.0× pimdb",
            "rows/s, both whole processes end to end with keys, one process per dataset",
            s.paired("ours", None, "pimdb", None),
            1.0,
            "",
        ),
    ]


def _start_up_seconds(s: Summary) -> str:
    """Median per-process cost outside the loader's own timing: interpreter start, imports, exit."""
    whole, own = s.total("ours"), s.total("ours", "loader")
    if whole is None or own is None:
        return "a fixed cost"
    return f"about {(whole.median - own.median) / len(s.files):.2f} s"


def _gunzip_share(s: Summary) -> str:
    gunzip, copy = s.total("decompress"), s.total("ceiling", "copy")
    if gunzip is None or copy is None or not copy.median:
        return "a share"
    return f"{gunzip.median / copy.median:.0%}"


def stricter(s: Summary) -> list[Target]:
    """The same bars applied to whole runs: keys, ANALYZE, swap, audit and the process itself."""
    return [
        (
            "0.9× the ceiling's COPY alone",
            "ceiling COPY / our COPY phase: the ceiling is not charged for decompression",
            s.paired("ours", "copy", "ceiling", "copy"),
            0.9,
            f"gunzip ({_gunzip_share(s)} of the COPY's time) and the download share the second core with the "
            "HTTP server; on the large files the COPY runs at the ceiling's speed (per-dataset table)",
        ),
        (
            "0.9× the ceiling, end to end",
            "ceiling (COPY + keys + ANALYZE) / our loader's own time (check, COPY, keys, ANALYZE, swap, audit)",
            s.paired("ours", "loader", "ceiling", None),
            0.9,
            "the COPY as above, plus what makes a load safe: the audit rows, the row count check and the swap",
        ),
        (
            "0.9× the ceiling, end to end, whole process",
            "as above, ours from process start to exit",
            s.paired("ours", None, "ceiling", None),
            0.9,
            f"starting Python and importing psycopg2 and requests: {_start_up_seconds(s)} per process, seven "
            "processes, whatever the file size; it fades as the files grow (see scale 0.1)",
        ),
        (
            "0.9× the ceiling, seven at once",
            "ceiling ×7 parallel / ours ×7 parallel processes, wall time until the last one finished",
            s.paired("ours-parallel", None, "ceiling-parallel", None),
            0.9,
            "on 2 cores the seven clients' CPU (start-up, download, gunzip) is taken from the server; the ceiling "
            "has no client. In a cluster each pod has CPUs of its own",
        ),
        (
            "0.9× the ceiling, seven at once, one process",
            "ceiling ×7 parallel / one `imdb-load all --parallel 7` process",
            s.paired("ours-threads", None, "ceiling-parallel", None),
            0.9,
            "as above, with one start-up instead of seven",
        ),
        (
            "15× the INSERT baseline's execute_values, end to end",
            f"rows/s: ours whole process / the INSERT baseline's INSERTs + the same keys{_on_prefix(s)}",
            s.paired("ours", None, "seed-execute_values", None),
            15.0,
            "unreachable for any loader: keys cost the same whoever loads the rows, so even the ceiling is only "
            "the ratio below",
        ),
    ]
