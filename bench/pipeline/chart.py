"""chart.png: the phases of each run stacked, the largest run's 15 slowest dbt nodes, and its disk
over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from phases import Phase
from summary import Summary

COLORS = {Phase.LOADS: "#1f77b4", Phase.DBT_BUILD: "#ff7f0e", Phase.FRESHNESS: "#2ca02c"}
KIND_COLORS = {"model": "#ff7f0e", "test": "#9467bd", "unit_test": "#8c564b"}


def _phases(ax: Any, s: Summary) -> None:
    labels = [f"scale {r.scale:g}\n{r.raw_rows / 1e6:,.0f} M rows" for r in s.runs]
    left = [0.0] * len(s.runs)
    for phase in Phase:
        widths = [r.phase_seconds(phase) for r in s.runs]
        ax.barh(labels, widths, left=left, color=COLORS[phase], label=phase.value)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for i, run in enumerate(s.runs):
        ax.text(left[i], i, f"  dbt ÷ loads {run.dbt_over_loads:.2f}×", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (wall)")
    ax.set_xlim(0, max(left) * 1.35)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Phases of each run, stacked")


def _slowest(ax: Any, s: Summary) -> None:
    run = s.largest
    nodes = run.slowest(15)
    names = [n["name"] if len(n["name"]) <= 48 else n["name"][:45] + "…" for n in nodes]
    ax.barh(names, [n["seconds"] for n in nodes], color=[KIND_COLORS.get(n["kind"], "#7f7f7f") for n in nodes])
    for i, n in enumerate(nodes):
        ax.text(n["seconds"], i, f" {n['seconds']:.0f} s ({n['seconds'] / run.build_seconds:.0%})", va="center",
                fontsize=7)  # fmt: skip
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(0, max(n["seconds"] for n in nodes) * 1.3)
    ax.set_xlabel("seconds (dbt's execution_time; orange model, purple test)")
    ax.set_title(f"Scale {run.scale:g}: the 15 slowest dbt nodes")


def _disk(ax: Any, s: Summary) -> None:
    run = s.largest
    samples = run.record["samples"]
    t = [x["seconds"] for x in samples]
    ax.plot(t, [x["data_dir_bytes"] / 1e9 for x in samples], label="data directory (WAL, temp included)")
    ax.plot(t, [x["database_bytes"] / 1e9 for x in samples], label="pg_database_size")
    ax.axhline(run.raw_bytes / 1e9, color="#7f7f7f", linestyle="--", label="raw tables at the end")
    ax.axhline(3 * run.raw_bytes / 1e9, color="#d62728", linestyle=":", label="3× raw tables")
    ends = {}
    for x in samples:
        ends[x["phase"]] = x["seconds"]
    for phase, end in ends.items():
        ax.axvline(end, color="#bbbbbb", linewidth=0.8)
        ax.text(end, 0, f" end of {phase}", rotation=90, fontsize=7, va="bottom", ha="right")
    ax.set_xlabel("seconds since the loads started")
    ax.set_ylabel("GB")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"Scale {run.scale:g}: disk during the run")


def chart(s: Summary, path: Path) -> None:
    # Imported here: matplotlib takes a second to import, and only drawing needs it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(20, 5.5), gridspec_kw={"width_ratios": [1, 1.2, 1]})
    _phases(axes[0], s)
    _slowest(axes[1], s)
    _disk(axes[2], s)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
