"""Turn the benchmark's records into numbers people can check: medians with min–max,
rates, ratios against the ceiling and the seed, the targets, a full-scale projection,
the Markdown table (docs/benchmarks/results.md) and the chart (chart.png)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]
PER_DATASET = ("ours", "ceiling", "decompress", "pimdb", "seed-execute_values", "seed-executemany")
WHOLE = ("ours-parallel", "ours-threads", "ceiling-parallel", "ours-refresh")
LABELS = {
    "ours": "ours: `imdb-load`, one process per dataset, one after another",
    "ours-loader": "ours: the loader's own time (the above without Python's start and imports)",
    "ours-copy": "ours: COPY phase only (HTTP + gunzip + COPY; compare with the seed's INSERT phase)",
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


def _phase(record: Record, name: str) -> float:
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
        seconds = [_phase(r, phase) if phase else r["seconds"] for r in runs]
        first = runs[0]
        return Stat(seconds, first["rows"], first["bytes"], _rss(runs), bool(first.get("prefix")))

    def total(self, contender: str, phase: str | None = None) -> Stat | None:
        """Seven datasets together: per round the sum over datasets (or the one 'all' record)."""
        if contender in WHOLE:
            return self.dataset(contender, "all")
        per_round: dict[int, list[Record]] = defaultdict(list)
        for ds in self.files:
            for r in self.by.get((contender, ds), []):
                per_round[r["round"]].append(r)
        complete = {k: v for k, v in per_round.items() if len(v) == len(self.files)}
        if not complete:
            return None
        seconds = [sum(_phase(r, phase) if phase else r["seconds"] for r in rs) for rs in complete.values()]
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
        if contender in WHOLE:
            return {r["round"]: (r["seconds"], r["rows"]) for r in self.by.get((contender, "all"), [])}
        grouped: dict[int, list[Record]] = defaultdict(list)
        for ds in self.files:
            for r in self.by.get((contender, ds), []):
                grouped[r["round"]].append(r)
        return {
            k: (sum(_phase(r, phase) if phase else r["seconds"] for r in rs), sum(r["rows"] for r in rs))
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


def _with_decompression(s: Summary) -> list[float]:
    """Per round: (ceiling COPY + gunzip alone) / our COPY phase, the ceiling as the issue defines it."""
    ours, copy, gunzip = s.per_round("ours", "copy"), s.per_round("ceiling", "copy"), s.per_round("decompress")
    rounds = sorted(ours.keys() & copy.keys() & gunzip.keys())
    return [(copy[k][0] + gunzip[k][0]) / ours[k][0] for k in rounds if ours[k][0]]


def targets(s: Summary) -> list[Target]:
    """The issue's three targets, each measured the way the issue defines its reference: the
    ceiling is server-side COPY of the rows into the typed table plus decompression alone, and
    the seed's approach is its INSERTs."""
    return [
        (
            "ours ≥ 0.9× the ceiling",
            "(ceiling COPY + gunzip alone) / our COPY phase (HTTP + gunzip + COPY into the fresh table, the two "
            "overlapped), seconds summed over the 7 datasets",
            _with_decompression(s),
            0.9,
            "",
        ),
        (
            "ours ≥ 15× the seed's execute_values",
            "rows/s: our COPY phase / the seed's INSERT phase (on its prefix)",
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
            "15× the seed's execute_values, end to end",
            "rows/s: ours whole process / the seed's INSERTs + the same keys (on its prefix)",
            s.paired("ours", None, "seed-execute_values", None),
            15.0,
            "unreachable for any loader: keys cost the same whoever loads the rows, so even the ceiling is only "
            "the ratio below",
        ),
    ]


# -- Markdown ----------------------------------------------------------------------------------------


def _n(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _span(stat: Stat | None) -> str:
    if stat is None:
        return "–"
    return f"{stat.median:,.2f} ({stat.low:,.2f}–{stat.high:,.2f})"


def _rate(stat: Stat | None) -> str:
    return "–" if stat is None else f"{stat.rows_per_s:,.0f}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}×"


def _totals_table(s: Summary) -> list[str]:
    ceiling = s.total("ceiling")
    seed_ev = s.total("seed-execute_values")
    lines = [
        "| contender | seconds: median (min–max) | rows/s | MB/s | peak RSS MB | speed vs ceiling "
        "| speed vs seed execute_values |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    rows: list[tuple[str, Stat | None]] = [
        ("ours", s.total("ours")),
        ("ours-loader", s.total("ours", "loader")),
        ("ours-copy", s.total("ours", "copy")),
        ("ours-parallel", s.total("ours-parallel")),
        ("ours-threads", s.total("ours-threads")),
        ("ceiling", ceiling),
        ("ceiling-copy", s.total("ceiling", "copy")),
        ("ceiling-parallel", s.total("ceiling-parallel")),
        ("decompress", s.total("decompress")),
        ("pimdb", s.total("pimdb")),
        ("seed-execute_values", seed_ev),
        ("seed-execute_values-insert", s.total("seed-execute_values", "insert")),
        ("seed-executemany", s.total("seed-executemany")),
    ]
    for key, stat in rows:
        if stat is None:
            continue
        label = LABELS[key] + (" — **prefix**, see below" if stat.prefix else "")
        vs_ceiling = ceiling if key not in ("ours-copy", "ceiling-copy") else s.total("ceiling", "copy")
        vs_seed = seed_ev if key != "ours-copy" else s.total("seed-execute_values", "insert")
        if key.endswith(("parallel", "threads")):
            vs_ceiling = s.total("ceiling-parallel")
        lines.append(
            f"| {label} | {_span(stat)} | {_rate(stat)} | {_n(stat.mb_per_s)} | {_n(stat.peak_rss_mb, 0)} | "
            f"{_x(speed_ratio(stat, vs_ceiling)) if key != 'decompress' else '–'} | "
            f"{_x(speed_ratio(stat, vs_seed)) if key != 'decompress' else '–'} |"
        )
    return lines


def _ratio_cells(ratios: list[float], need: float) -> tuple[str, str]:
    if not ratios:
        return "not measured", "–"
    median = statistics.median(ratios)
    return f"{_x(median)} ({min(ratios):,.2f}–{max(ratios):,.2f})", "yes" if median >= need else "**no**"


def _targets_table(s: Summary) -> list[str]:
    lines = ["| target | measured as | ratio: median (min–max) of rounds | met |", "|---|---|--:|:-:|"]
    for name, how, ratios, need, _ in targets(s):
        ratio, met = _ratio_cells(ratios, need)
        lines.append(f"| {name} | {how} | {ratio} | {met} |")
    return lines


def _stricter_table(s: Summary) -> list[str]:
    lines = ["| bar | measured as | ratio: median (min–max) of rounds | reached | what stands in the way |"]
    lines.append("|---|---|--:|:-:|---|")
    for name, how, ratios, need, why in stricter(s):
        ratio, met = _ratio_cells(ratios, need)
        lines.append(f"| {name} | {how} | {ratio} | {met} | {why if met != 'yes' else ''} |")
    bounds = [
        (s.paired("ceiling", "copy", "seed-execute_values", "insert"), "when loading rows"),
        (s.paired("ceiling", None, "seed-execute_values", None), "end to end with keys"),
    ]
    said = [f"{statistics.median(r):,.2f}× {what}" for r, what in bounds if r]
    if said:
        lines += [
            "",
            "For scale: on this machine the ceiling itself, which no client can beat, is the seed's "
            "`execute_values` × " + " and × ".join(x.replace("× ", " ", 1) for x in said) + ".",
        ]
    return lines


def _ours_datasets_table(s: Summary) -> list[str]:
    lines = [
        "| dataset | rows | MB | seconds | rows/s | MB/s | peak RSS MB | COPY phase s | speed vs ceiling "
        "| COPY vs ceiling COPY | vs seed execute_values | vs pimdb |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for ds, f in s.files.items():
        ours = s.dataset("ours", ds)
        if ours is None:
            continue
        copy = s.dataset("ours", ds, "copy")
        cells = [
            _span(ours),
            _rate(ours),
            _n(ours.mb_per_s),
            _n(ours.peak_rss_mb, 0),
            _span(copy),
            _x(speed_ratio(ours, s.dataset("ceiling", ds))),
            _x(speed_ratio(copy, s.dataset("ceiling", ds, "copy"))),
            _x(speed_ratio(ours, s.dataset("seed-execute_values", ds))),
            _x(speed_ratio(ours, s.dataset("pimdb", ds))),
        ]
        lines.append(f"| {ds} | {f['rows']:,} | {f['plain_bytes'] / 1e6:,.1f} | " + " | ".join(cells) + " |")
    return lines


def _others_datasets_table(s: Summary) -> list[str]:
    lines = [
        "| dataset | ceiling s | ceiling COPY s | gunzip s | pimdb s | pimdb peak RSS MB | "
        "seed execute_values rows/s | seed executemany rows/s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for ds in s.files:
        pim = s.dataset("pimdb", ds)
        cells = [
            _span(s.dataset("ceiling", ds)),
            _span(s.dataset("ceiling", ds, "copy")),
            _span(s.dataset("decompress", ds)),
            _span(pim),
            _n(pim.peak_rss_mb if pim else None, 0),
            _rate(s.dataset("seed-execute_values", ds)),
            _rate(s.dataset("seed-executemany", ds)),
        ]
        lines.append(f"| {ds} | " + " | ".join(cells) + " |")
    return lines


def _phases_table(s: Summary) -> list[str]:
    phases = ("check", "copy", "index", "analyze", "swap")
    lines = [
        "| dataset | " + " | ".join(phases) + " | loader total | process wall | process CPU | ceiling COPY "
        "| ceiling keys | pimdb |",
        "|---|" + "--:|" * (len(phases) + 6),
    ]
    for ds in s.files:
        ours = s.by.get(("ours", ds), [])
        if not ours:
            continue
        cells = [_n(statistics.median(_phase(r, p) for r in ours), 2) for p in phases]
        cells.append(_n(statistics.median(r["internal_seconds"] for r in ours), 2))
        cells.append(_n(statistics.median(r["seconds"] for r in ours), 2))
        cpu = [r["client_cpu_seconds"] for r in ours if "client_cpu_seconds" in r]
        cells.append(_n(statistics.median(cpu) if cpu else None, 2))
        copy = s.dataset("ceiling", ds, "copy")
        cells.append(_n(copy.median if copy else None, 2))
        keys = s.dataset("ceiling", ds, "index")
        cells.append(_n(keys.median if keys else None, 2))
        pim = s.dataset("pimdb", ds)
        cells.append(_n(pim.median if pim else None, 2))
        lines.append(f"| {ds} | " + " | ".join(cells) + " |")
    return lines


def _projection_table(s: Summary) -> list[str]:
    names = [c for c in ("ours", "ceiling", "pimdb", "seed-execute_values", "seed-executemany") if c in s.contenders]
    lines = [
        "| dataset | rows at scale 1 | " + " | ".join(SHORT[c] for c in names) + " |",
        "|---|--:|" + "--:|" * len(names),
    ]

    def minutes(seconds: float | None) -> str:
        return "–" if seconds is None else f"{seconds / 60:,.1f} min"

    for ds in s.files:
        cells = [minutes(s.projected(c, ds)) for c in names]
        lines.append(f"| {ds} | {s.full_rows[ds]:,} | " + " | ".join(cells) + " |")
    total = [minutes(s.projected(c)) for c in names]
    lines.append(f"| **all seven, one after another** | {s.full_rows_total():,} | " + " | ".join(total) + " |")
    for c in ("ours-parallel", "ours-threads", "ceiling-parallel"):
        if c in s.contenders:
            lines.append(f"| **all seven at once: {SHORT[c]}** | {s.full_rows_total():,} | {minutes(s.projected(c))} |")
    return lines


def _headline(s: Summary) -> str:
    """One sentence with the numbers people ask for first, straight from the measurements."""
    ours = s.total("ours")
    if ours is None:
        return ""
    parts = [
        f"`imdb-load` loaded all {s.rows_total():,} rows in {ours.median:,.1f} s ({ours.rows_per_s:,.0f} rows/s) "
        "one dataset after another, keys and swap included"
    ]
    parallel = s.total("ours-parallel")
    if parallel is not None:
        parts.append(f", and in {parallel.median:,.1f} s with all seven at once")
    comparisons = [
        (speed_ratio(ours, s.total("ceiling")), "the speed of the server-side COPY ceiling (keys included)"),
        (speed_ratio(ours, s.total("seed-execute_values")), "the seed's `execute_values`"),
        (speed_ratio(ours, s.total("pimdb")), "pimdb"),
    ]
    said = [f"{ratio:,.2f}× {what}" for ratio, what in comparisons if ratio is not None]
    sentence = "".join(parts) + "."
    if said:
        sentence += " End to end, that is " + ", ".join(said) + "."
    return f"**In short:** {sentence}"


def _loads(values: list[float]) -> str:
    return "/".join(f"{x:.1f}" for x in values)


def markdown(results: dict[str, Any]) -> str:
    s = Summary(results)
    meta, machine = s.meta, s.meta["machine"]
    plain_mb = sum(f["plain_bytes"] for f in s.files.values()) / 1e6
    gz_mb = sum(f["gz_bytes"] for f in s.files.values()) / 1e6
    refresh = s.total("ours-refresh")
    limits = meta["seed_rows_limit"]
    out = [
        "<!-- Generated by tests/benchmarks/bench.py (`make bench`); do not edit by hand. -->",
        f"### Results: scale {meta['scale']:g}, {s.rows_total():,} rows, {plain_mb:,.0f} MB uncompressed "
        f"({gz_mb:,.0f} MB gzip), median of {meta['repeat']} interleaved round{'s' if meta['repeat'] != 1 else ''} "
        "(min–max)",
        "",
        f"Measured {meta['started_utc']} on {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_gb']:g} GB RAM, PostgreSQL {machine['postgres']}, Python {machine['python']}, "
        f"commit {meta['git_commit']}. "
        f"Load average (1, 5, 15 min) at start {_loads(machine['load_average_at_start'])}, "
        f"at end {_loads(machine['load_average_at_end'])}"
        + (
            " — **the machine was busy with other work, so absolute numbers are noisy; compare the ratios.**"
            if max(machine["load_average_at_start"]) > machine["cpus"]
            else "."
        ),
        "",
        _headline(s),
        "",
        "#### All seven datasets",
        "",
        *_totals_table(s),
        "",
    ]
    if refresh is not None:
        out += [
            f"Unchanged day (all seven skipped after asking the source): {_span(refresh)} s, "
            f"peak RSS {_n(refresh.peak_rss_mb, 0)} MB.",
            "",
        ]
    out += [
        "Speed ratios compare rows per second (above 1× means faster than the reference). "
        f"The seed's approaches load a **prefix** of each file ({limits['execute_values']:,} rows per dataset "
        f"for execute_values, {limits['executemany']:,} for executemany; 0 means all) and their rates come from that "
        "prefix, keys included.",
        "",
        "#### Targets",
        "",
        "The issue's targets, each against the reference as the issue defines it: the ceiling is server-side "
        "`COPY` of the same rows into the same typed table plus decompression alone; the seed's approach is its "
        "batched INSERTs. Each ratio is taken per round, from runs made side by side, and the median is judged.",
        "",
        *_targets_table(s),
        "",
        "#### The same bars on whole runs",
        "",
        "Not the issue's targets, but what a user also asks: the same bars applied to everything a run does "
        "(keys, ANALYZE, swap, audit, the process itself), with the ceiling given the same keys and ANALYZE.",
        "",
        *_stricter_table(s),
        "",
        "#### Our loader per dataset (seconds: median (min–max); speed ratios of rows/s)",
        "",
        *_ours_datasets_table(s),
        "",
        "#### The others per dataset",
        "",
        *_others_datasets_table(s),
        "",
        "#### Where our loader spends its time (median seconds per phase)",
        "",
        *_phases_table(s),
        "",
        "*check*: ask the source (conditional GET); *copy*: download + gunzip + header check + `COPY ... FREEZE` into "
        "a fresh table; *index*: primary key and secondary indexes; *swap*: rename into place with grants and views; "
        "*process wall*: the whole `imdb-load` process, interpreter start and audit rows included; *process CPU*: "
        "user + system CPU seconds of that process (download, gunzip, Python), the server's work excluded.",
        "",
        "#### Full-scale projection — a projection, not a measurement",
        "",
        "Rows at scale 1.0 (the real files' sizes) divided by the rows per second measured above. Key builds grow a "
        "little faster than linearly and the real files do not fit in the page cache the same way, so expect the "
        "real times to be somewhat longer.",
        "",
        *_projection_table(s),
        "",
    ]
    if results.get("not_run"):
        out += ["#### Not run", ""] + [f"- **{k}**: {v}" for k, v in results["not_run"].items()] + [""]
    return "\n".join(out)


# -- chart -------------------------------------------------------------------------------------------


COLORS = {"ours": "#1f77b4", "ceiling": "#7f7f7f", "pimdb": "#ff7f0e", "seed": "#d62728"}


def _color(label: str) -> str:
    return next((c for k, c in COLORS.items() if label.startswith(k)), "#2ca02c")


def _loading_rows(s: Summary) -> list[tuple[str, Stat]]:
    """What the targets compare: getting the rows into a table, keys left out."""
    with_gunzip: Stat | None = None
    copy, gunzip = s.per_round("ceiling", "copy"), s.per_round("decompress")
    rounds = sorted(copy.keys() & gunzip.keys())
    if rounds:
        with_gunzip = Stat([copy[k][0] + gunzip[k][0] for k in rounds], copy[rounds[0]][1], 0)
    bars = [
        ("ours: HTTP + gunzip + COPY", s.total("ours", "copy")),
        ("ceiling: COPY alone", s.total("ceiling", "copy")),
        ("ceiling: COPY + gunzip", with_gunzip),
        ("seed: execute_values INSERTs", s.total("seed-execute_values", "insert")),
    ]
    return [(label, st) for label, st in bars if st is not None]


def _rate_bars(ax: Any, stats: list[tuple[str, Stat]], title: str) -> None:
    """Horizontal bars of rows/s with min–max whiskers, each labelled with its median."""
    values = [st.rows_per_s for _, st in stats]
    lows = [st.rows_per_s - st.rate_range()[0] for _, st in stats]
    highs = [st.rate_range()[1] - st.rows_per_s for _, st in stats]
    y = list(range(len(stats)))
    ax.barh(y, values, xerr=[lows, highs], color=[_color(lbl) for lbl, _ in stats], capsize=3)
    ax.set_yticks(y, [lbl + (" (prefix)" if st.prefix else "") for lbl, st in stats])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("rows per second, all seven datasets\n(log scale; bars: median, whiskers: min–max)")
    start = ax.get_xlim()[0]
    for i, v in enumerate(values):
        if v > start * 4:  # inside the bar, where no whisker can cover it
            ax.text(start * 1.08, i, f"{v:,.0f}", va="center", fontsize=8, color="white", weight="bold")
        else:  # too short a bar: beside it
            ax.text(v * 1.6, i, f"{v:,.0f}", va="center", fontsize=8)
    ax.set_title(title)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = Summary(results)
    fig, (loading, whole, right) = plt.subplots(1, 3, figsize=(19, 5.5), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    _rate_bars(loading, _loading_rows(s), "Loading rows (what the targets compare)")
    keys = [
        "ours-threads",
        "ours-parallel",
        "ours",
        "ceiling-parallel",
        "ceiling",
        "pimdb",
        "seed-execute_values",
        "seed-executemany",
    ]
    stats = [(SHORT[k], st) for k in keys if (st := s.total(k)) is not None]
    _rate_bars(whole, stats, "Whole runs, end to end with keys")

    per_ds = [k for k in ("ours", "ceiling", "pimdb", "seed-execute_values") if k in s.contenders]
    names = list(s.files)
    width = 0.8 / max(len(per_ds), 1)
    for j, key in enumerate(per_ds):
        rates = [(st.rows_per_s if (st := s.dataset(key, ds)) else 0.0) for ds in names]
        xs = [i + (j - (len(per_ds) - 1) / 2) * width for i in range(len(names))]
        right.bar(xs, rates, width, label=SHORT[key], color=_color(SHORT[key]))
    right.set_xticks(range(len(names)), names, rotation=20)
    right.set_yscale("log")
    right.set_ylabel("rows per second (log scale, median)")
    right.set_title("Whole runs per dataset")
    right.legend(fontsize=8)
    meta = s.meta
    fig.suptitle(
        f"imdb-load benchmark: scale {meta['scale']:g} ({s.rows_total():,} rows), "
        f"{meta['machine']['cpus']} CPUs, PostgreSQL {meta['machine']['postgres']}, "
        f"median of {meta['repeat']} rounds, {meta['started_utc'][:10]}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


README_START = "<!-- bench:summary:start (written by `make bench`; edit bench_report.py instead) -->"
README_END = "<!-- bench:summary:end -->"


def readme_summary(results: dict[str, Any]) -> str:
    """The README's Performance numbers: the headline and both target tables."""
    s = Summary(results)
    meta = s.meta
    return "\n".join(
        [
            _headline(s),
            "",
            f"**Targets, last committed run** (scale {meta['scale']:g}, {meta['machine']['cpus']} CPUs, "
            f"median of {meta['repeat']} rounds; all tables in "
            "[docs/benchmarks/results.md](docs/benchmarks/results.md)):",
            "",
            *_targets_table(s),
            "",
            "**The same bars on whole runs** (not the issue's targets; the ceiling gets the same keys):",
            "",
            *_stricter_table(s),
        ]
    )


def update_readme(readme: Path, results: dict[str, Any]) -> bool:
    """Replace the README's marked summary with this run's; False when there are no markers."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(f"{head}{README_START}\n{readme_summary(results)}\n{README_END}{tail}")
    return True


def write_all(results: dict[str, Any], out: Path, readme: Path | None = None) -> None:
    """results.md and chart.png into ``out``; the README's summary too when ``readme`` is given."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(markdown(results))
    chart(results, out / "chart.png")
    if readme is not None and not update_readme(readme, results):
        raise SystemExit(f"{readme}: the bench:summary markers are missing; put them back around the numbers")
