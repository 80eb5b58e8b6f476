"""The benchmark's arithmetic, on records whose answers are known: the ratios it judges the
targets by, and the README summary it rewrites. The benchmark itself runs in `make bench` only."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from imdb_loader import datasets

from .conftest import REPO_ROOT


def _benchmark_modules() -> tuple[ModuleType, ModuleType]:
    """bench_summary and bench_report, imported as bench.py imports them (its folder on the path)."""
    folder = str(REPO_ROOT / "bench" / "loader")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("bench_summary"), importlib.import_module("bench_report")


summary, report = _benchmark_modules()
NAMES = [ds.name for ds in datasets.DATASETS]
ROWS = 1000


def _per_dataset(contender: str, seconds: float, rnd: int, **extra: Any) -> list[dict[str, Any]]:
    """One record per dataset, each taking ``seconds``; rows and bytes equal everywhere."""
    return [
        {"contender": contender, "dataset": n, "seconds": seconds, "rows": ROWS, "bytes": 10 * ROWS, "round": rnd}
        | extra
        for n in NAMES
    ]


def _results(*, ours_copy: float, ceiling_copy: float, rounds: int = 3) -> dict[str, Any]:
    records: list[dict[str, Any]] = []
    for rnd in range(rounds):
        records += _per_dataset(
            "ours", 1.0, rnd, internal_seconds=0.8, phases={"copy": ours_copy, "index": 0.3}, peak_rss_mb=48.0
        )
        records += _per_dataset("ceiling", 0.75, rnd, phases={"copy": ceiling_copy, "index": 0.3})
        records += _per_dataset("decompress", 0.1, rnd)
        records += _per_dataset("pimdb", 2.0, rnd)
        records += _per_dataset("seed-execute_values", 8.0, rnd, phases={"insert": 6.0}, prefix=True)
        records += [
            {"contender": name, "dataset": "all", "seconds": seconds, "rows": 7 * ROWS, "bytes": 0, "round": rnd}
            for name, seconds in (("ours-parallel", 3.0), ("ceiling-parallel", 2.4))
        ]
    machine = {
        "cpus": 2,
        "cpu_model": "test",
        "memory_gb": 1,
        "python": "3",
        "postgres": "18",
        "load_average_at_start": [0.1, 0.1, 0.1],
        "load_average_at_end": [0.1, 0.1, 0.1],
    }
    return {
        "meta": {
            "scale": 0.02,
            "repeat": rounds,
            "started_utc": "now",
            "git_commit": "abc",
            "machine": machine,
            "seed_rows_limit": {"execute_values": 100, "executemany": 10},
        },
        "files": {n: {"rows": ROWS, "gz_bytes": 3 * ROWS, "plain_bytes": 10 * ROWS} for n in NAMES},
        "rows_at_scale_1": {n: 50 * ROWS for n in NAMES},
        "not_run": {},
        "records": records,
    }


def _judged(table: list[tuple[str, str, list[float], float, str]]) -> dict[str, float]:
    return {name: sorted(ratios)[len(ratios) // 2] for name, _, ratios, _, _ in table if ratios}


def test_the_ceiling_target_compares_copy_with_copy_as_defined_and_strictly() -> None:
    s = summary.Summary(_results(ours_copy=0.5, ceiling_copy=0.4))
    judged = _judged(summary.targets(s))
    assert judged["ours ≥ 0.9× the ceiling"] == pytest.approx((0.4 + 0.1) / 0.5)
    assert _judged(summary.stricter(s))["0.9× the ceiling's COPY alone"] == pytest.approx(0.4 / 0.5)
    assert judged["ours ≥ 15× the INSERT baseline's execute_values"] == pytest.approx(6.0 / 0.5)
    assert judged["ours ≥ 1.0× pimdb"] == pytest.approx(2.0)


def test_whole_runs_are_judged_with_the_same_keys_and_name_what_stands_in_the_way() -> None:
    s = summary.Summary(_results(ours_copy=0.5, ceiling_copy=0.4))
    table = {name: (ratios, why) for name, _, ratios, _, why in summary.stricter(s)}
    assert table["0.9× the ceiling, end to end"][0] == pytest.approx([0.75 / 0.8] * 3)
    assert table["0.9× the ceiling, end to end, whole process"][0] == pytest.approx([0.75] * 3)
    assert table["0.9× the ceiling, seven at once"][0] == pytest.approx([0.8] * 3)
    assert "about 0.20 s per process" in table["0.9× the ceiling, end to end, whole process"][1]


def test_a_shortfall_is_marked_no_in_both_tables() -> None:
    s = summary.Summary(_results(ours_copy=0.5, ceiling_copy=0.4))
    targets = "\n".join(report._targets_table(s))
    assert "| ours ≥ 0.9× the ceiling | " in targets and "| 1.00× (1.00–1.00) | yes |" in targets
    whole = "\n".join(report._stricter_table(s))
    assert "| 0.80× (0.80–0.80) | **no** | gunzip (25% of the COPY's time)" in whole
    assert "0.94× (0.94–0.94) | yes |" in whole  # end to end: met, so no excuse is printed
    assert "0.75× (0.75–0.75) | **no** | starting Python" in whole


def test_the_readme_summary_is_replaced_between_its_markers_only(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# intro\n\n{report.README_START}\nold numbers\n{report.README_END}\n\n## after\n")
    results = _results(ours_copy=0.38, ceiling_copy=0.4)
    report.write_all(results, tmp_path / "out", readme)
    text = readme.read_text()
    assert text.startswith("# intro\n\n") and text.endswith("\n\n## after\n")
    assert "old numbers" not in text
    assert "| ours ≥ 0.9× the ceiling | " in text and "1.32× (1.32–1.32) | yes |" in text
    assert "| 0.9× the ceiling's COPY alone | " in text and "1.05× (1.05–1.05) | yes |  |" in text
    assert (tmp_path / "out" / "results.md").read_text().count("#### Targets") == 1
    assert (tmp_path / "out" / "chart.png").read_bytes().startswith(b"\x89PNG")
    json.dumps(results)  # what bench.py stores is plain JSON


def test_a_readme_without_markers_is_an_error_not_a_silent_skip(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    with pytest.raises(SystemExit, match="bench:summary markers are missing"):
        report.write_all(_results(ours_copy=0.5, ceiling_copy=0.4), tmp_path / "out", readme)
    assert readme.read_text() == "# no markers here\n"


def test_the_report_says_which_seed_runs_loaded_a_prefix() -> None:
    results = _results(ours_copy=0.5, ceiling_copy=0.4)
    text = report.markdown(results)
    assert "execute_values a **prefix** of 100 rows per dataset and executemany a **prefix** of 10" in text
    assert "(on its prefix)" in text
    results["meta"]["seed_rows_limit"]["execute_values"] = 0
    for r in results["records"]:
        r.pop("prefix", None)
    text = report.markdown(results)
    assert "execute_values loaded every row and executemany a **prefix** of 10 rows per dataset" in text
    assert "(on its prefix)" not in text
