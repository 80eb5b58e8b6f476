"""chart.png: rows per second while loading rows (what the targets compare), for whole runs,
and per dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench_summary import CEILING_WITH_GUNZIP, SHORT, Stat, Summary

COLORS = {"ours": "#1f77b4", "ceiling": "#7f7f7f", "pimdb": "#ff7f0e", "seed": "#d62728"}


def _color(label: str) -> str:
    return next((c for k, c in COLORS.items() if label.startswith(k)), "#2ca02c")


def _loading_rows(s: Summary) -> list[tuple[str, Stat]]:
    """What the targets compare: getting the rows into a table, keys left out."""
    bars = [
        ("ours: HTTP + gunzip + COPY", s.total("ours", "copy")),
        ("ceiling: COPY alone", s.total("ceiling", "copy")),
        ("ceiling: COPY + gunzip", s.total(CEILING_WITH_GUNZIP)),
        ("INSERT baseline: execute_values", s.total("seed-execute_values", "insert")),
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
