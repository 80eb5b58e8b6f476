"""results.md, chart.png and the README's summary, redrawn from results.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import chart
from phases import Phase
from summary import Check, Run, Summary

from imdb_devkit.synth import DEFAULT_DIRTY_RATE

README_START = "<!-- bench-pipeline:summary:start (written by `make bench-pipeline`; edit bench/pipeline/report.py) -->"
README_END = "<!-- bench-pipeline:summary:end -->"
GB = 1e9


def gb(value: float) -> str:
    return f"{value / GB:,.2f} GB"


def yes(check: Check) -> str:
    return "yes" if check.met else "**no**"


def check_rows(checks: list[Check]) -> list[str]:
    rows = ["| target | measured | limit | met |", "|---|--:|--:|:-:|"]
    for c in checks:
        limit = f"≤ {c.limit:g}×" if c.at_most else f"≥ {c.limit:g}×"
        rows.append(f"| {c.name} | {c.measured:.2f}× | {limit} | {yes(c)} |")
    return rows


def label(run: Run) -> str:
    m = run.record["machine"]
    return (
        f"{m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB RAM, PostgreSQL {m['postgres']} ({m['locale']}), "
        f"commit {run.record['commit']}, dbt threads {run.record['dbt_threads']}, "
        f"{run.record['pool_slots']} loads at once, load average at start {m['load_average_at_start']}, "
        + (
            "files without the dev kit's defects (--clean)"
            if run.record.get("clean_files")
            else f"the dev kit's files with their {DEFAULT_DIRTY_RATE:.1%} duplicate keys and dangling references"
        )
    )


def run_section(run: Run) -> list[str]:
    db_peak, db_phase = run.peak("database_bytes")
    disk_peak, disk_phase = run.peak("data_dir_bytes")
    pss_peak, pss_phase = run.peak("server_pss_bytes")
    rss = {p["phase"]: p["peak_rss_mb"] for p in run.record["phases"]}
    lines = [
        f"## Scale {run.scale:g}: {run.raw_rows:,} raw rows",
        "",
        f"Run on {label(run)}.",
        "",
        "| phase | seconds | peak RSS of the client |",
        "|---|--:|--:|",
    ]
    lines += [f"| {p['phase']} | {p['seconds']:.1f} | {p['peak_rss_mb']:.0f} MB |" for p in run.record["phases"]]
    lines += [
        "",
        f"- **dbt build ÷ loads: {run.dbt_over_loads:.2f}×** ({run.build_seconds:.1f} s ÷ {run.loads_seconds:.1f} s); "
        f"dbt's per-node times add up to {run.node_seconds:.0f} s over {run.record['dbt_threads']} threads.",
        f"- Raw tables {gb(run.raw_bytes)}; database at the end {gb(run.record['database_bytes_end'])} "
        f"(staging {gb(run.schema_bytes('imdb_staging'))}, intermediate {gb(run.schema_bytes('imdb_intermediate'))}, "
        f"marts {gb(run.schema_bytes('imdb_marts'))}).",
        f"- Peak during the run: database {gb(db_peak)} ({db_phase}); data directory with WAL and temporary files "
        f"{gb(disk_peak)} ({disk_phase}) = **{run.peak_disk_over_raw:.2f}× the raw tables**; the chart's default "
        f"volume ({run.record['chart_volume']}) is {run.volume_over_peak:.2f}× that peak.",
        f"- Peak memory: server {gb(pss_peak)} (sum of its processes' PSS, {pss_phase}); loaders up to "
        f"{rss[Phase.LOADS]:.0f} MB each, dbt {rss[Phase.DBT_BUILD]:.0f} MB.",
        f"- dbt: {len(run.nodes('model'))} models, {len(run.nodes('test'))} data tests, "
        f"{len(run.nodes('unit_test'))} unit tests; failures: {len(run.failures())}.",
    ]
    if run.checks():
        lines += ["", *check_rows(run.checks())]
    lines += ["", "Loads (the DAG's pool: at most this many at once, biggest first):", ""]
    lines += ["| task | start s | seconds | rows | peak RSS |", "|---|--:|--:|--:|--:|"]
    for load in sorted(run.record["loads"], key=lambda x: x["started"]):
        lines.append(
            f"| {load['name']} | {load['started']:.1f} | {load['seconds']:.1f} | {load['result']['rows']:,} | "
            f"{load['peak_rss_mb']:.0f} MB |"
        )
    lines += ["", "The 15 slowest dbt nodes (dbt's run_results.json; sizes from the catalog at the end):", ""]
    lines += _node_rows(run, run.slowest(15))
    lines += ["", "<details><summary>Every model</summary>", ""]
    lines += _node_rows(run, run.nodes("model"))
    lines += ["", "</details>", ""]
    lines += spot_check_lines(run)
    return lines


def _node_rows(run: Run, nodes: list[dict[str, Any]]) -> list[str]:
    rows = ["| node | seconds | share of build | rows | table | indexes |", "|---|--:|--:|--:|--:|--:|"]
    for n in nodes:
        rel = run.relation(n["name"]) if n["kind"] == "model" else None
        size = (gb(rel["table_bytes"]), gb(rel["index_bytes"])) if rel else ("", "")
        count = f"{n['rows']:,}" if n["kind"] == "model" and isinstance(n.get("rows"), int) else ""
        share = float(n["seconds"]) / run.build_seconds
        rows.append(
            f"| {n['kind']} `{n['name']}` | {n['seconds']:.1f} | {share:.0%} | {count} | {size[0]} | {size[1]} |"
        )
    return rows


def spot_check_lines(run: Run) -> list[str]:
    lines = ["Spot check of `title_recommendations`: the most voted titles and their top 5.", ""]
    for check in run.record.get("spot_checks", []):
        lines.append(f"- **{check['title']}** [{check['title_id']}], {check['num_votes']:,} votes:")
        lines += [
            f"  {rec['rank']}. {rec['title']} [{rec['title_id']}], score {rec['score']:.4f}: {rec['reason']}"
            for rec in check["top"]
        ]
    return [*lines, ""]


def growth_lines(s: Summary) -> list[str]:
    if not s.growth():
        return []
    lines = [
        "## Growth",
        "",
        "| scales | data | loads | dbt build | dbt ÷ data | met (≤ 1.1×) |",
        "|---|--:|--:|--:|--:|:-:|",
    ]
    for g in s.growth():
        lines.append(
            f"| {g.small.scale:g} → {g.large.scale:g} | ×{g.data:.2f} | ×{g.loads:.2f} | ×{g.dbt:.2f} | "
            f"{g.dbt_over_data:.2f}× | {yes(g.check)} |"
        )
    return [*lines, ""]


def markdown(s: Summary) -> str:
    lines = [
        "# The whole pipeline, measured end to end",
        "",
        "Written by `make bench-pipeline SCALE=…` (bench/pipeline/); do not edit by hand. Each scale is one run:",
        "synthetic files served over HTTP, the seven loads as the DAG runs them, then `dbt build` (models and",
        "tests) and `dbt source freshness`, on PostgreSQL 18 with the chart's warehouse parameters. How it",
        "measures: [README.md](README.md).",
        "",
        "![Pipeline chart](chart.png)",
        "",
        "## Targets",
        "",
        *check_rows(s.checks()),
        "",
        *growth_lines(s),
    ]
    for run in reversed(s.runs):
        lines += run_section(run)
    return "\n".join(lines).rstrip() + "\n"


def readme_block(s: Summary) -> str:
    run = s.largest
    lines = [
        README_START,
        f"**The whole pipeline at scale {run.scale:g}** ({run.raw_rows:,} raw rows, {label(run)}): the seven loads "
        f"took {run.loads_seconds:,.0f} s, `dbt build` {run.build_seconds:,.0f} s "
        f"(**{run.dbt_over_loads:.2f}×** the loads), "
        f"`dbt source freshness` {run.phase_seconds(Phase.FRESHNESS):.0f} s; "
        f"peak disk {gb(run.peak_disk_bytes)}, {run.peak_disk_over_raw:.2f}× the raw tables. All runs and every "
        "node: [docs/benchmarks/pipeline/results.md](docs/benchmarks/pipeline/results.md).",
        "",
        *check_rows(s.checks()),
        README_END,
    ]
    return "\n".join(lines)


def update_readme(readme: Path, block: str) -> None:
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"{readme}: the bench-pipeline:summary markers are missing; put them back in Performance")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(head + block + tail)


def write_all(out: Path, readme: Path | None) -> None:
    results = json.loads((out / "results.json").read_text())
    s = Summary(results)
    (out / "results.md").write_text(markdown(s))
    chart.chart(s, out / "chart.png")
    if readme is not None:
        update_readme(readme, readme_block(s))
