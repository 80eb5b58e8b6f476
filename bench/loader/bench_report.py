"""Turn the benchmark's numbers into what people read: docs/benchmarks/results.md, the
README's Performance summary, and (through bench_chart) chart.png."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench_chart import chart
from bench_summary import LABELS, SHORT, Stat, Summary, phase_seconds, speed_ratio, stricter, targets


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
        "| speed vs INSERT baseline execute_values |",
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
            "For scale: on this machine the ceiling itself, which no client can beat, is the INSERT baseline's "
            "`execute_values` × " + " and × ".join(x.replace("× ", " ", 1) for x in said) + ".",
        ]
    return lines


def _ours_datasets_table(s: Summary) -> list[str]:
    lines = [
        "| dataset | rows | MB | seconds | rows/s | MB/s | peak RSS MB | COPY phase s | speed vs ceiling "
        "| COPY vs ceiling COPY | vs INSERT baseline execute_values | vs pimdb |",
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
        cells = [_n(statistics.median(phase_seconds(r, p) for r in ours), 2) for p in phases]
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
        (speed_ratio(ours, s.total("seed-execute_values")), "the INSERT baseline's `execute_values`"),
        (speed_ratio(ours, s.total("pimdb")), "pimdb"),
    ]
    said = [f"{ratio:,.2f}× {what}" for ratio, what in comparisons if ratio is not None]
    sentence = "".join(parts) + "."
    if said:
        sentence += " End to end, that is " + ", ".join(said) + "."
    return f"**In short:** {sentence}"


def _loads(values: list[float]) -> str:
    return "/".join(f"{x:.1f}" for x in values)


def _seed_rows(limits: dict[str, int]) -> str:
    """What the INSERT baseline's approaches loaded: every row, or a prefix whose rate stands for the whole."""
    said = [
        f"{method} loaded every row" if not n else f"{method} a **prefix** of {n:,} rows per dataset"
        for method, n in (("execute_values", limits["execute_values"]), ("executemany", limits["executemany"]))
    ]
    tail = " (where a file is longer, its rates come from that prefix, keys included)" if any(limits.values()) else ""
    return f"Of the INSERT baseline's approaches, {' and '.join(said)}{tail}."


def markdown(results: dict[str, Any]) -> str:
    s = Summary(results)
    meta, machine = s.meta, s.meta["machine"]
    plain_mb = sum(f["plain_bytes"] for f in s.files.values()) / 1e6
    gz_mb = sum(f["gz_bytes"] for f in s.files.values()) / 1e6
    refresh = s.total("ours-refresh")
    limits = meta["seed_rows_limit"]
    out = [
        "<!-- Generated by bench/loader/bench.py (`make bench`); do not edit by hand. -->",
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
        "Speed ratios compare rows per second (above 1× means faster than the reference). " + _seed_rows(limits),
        "",
        "#### Targets",
        "",
        "The benchmark's targets, each against the reference as the benchmark defines it: the ceiling is server-side "
        "`COPY` of the same rows into the same typed table plus decompression alone; the INSERT baseline is its "
        "batched INSERTs. Each ratio is taken per round, from runs made side by side, and the median is judged.",
        "",
        *_targets_table(s),
        "",
        "#### The same bars on whole runs",
        "",
        "Not the benchmark's targets, but what a user also asks: the same bars applied to everything a run does "
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
            "**The same bars on whole runs** (not the benchmark's targets; the ceiling gets the same keys):",
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
