"""The arithmetic of the pipeline benchmark, on the records run.py stores in results.json:
phase times and their ratio, peak disk against the raw tables, the chart's volume against the
peak, each dbt node's share of the build, and the growth from one scale to the next."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from phases import FULL_SCALE, TARGET_SCALES, Phase, Target

from imdb_loader import datasets

Record = dict[str, Any]
RAW_TABLES = frozenset(ds.table for ds in datasets.DATASETS)
QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti)$")
UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def quantity_bytes(text: str) -> int:
    """A Kubernetes quantity as the chart's schema allows it (e.g. ``40Gi``), in bytes."""
    match = QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity in Ki/Mi/Gi/Ti: {text!r}")
    return int(float(match.group(1)) * UNITS[match.group(2)])


@dataclass(frozen=True)
class Check:
    """One target: what was measured, the limit, and whether it was met."""

    name: str
    measured: float
    limit: float
    at_most: bool = True

    @property
    def met(self) -> bool:
        return self.measured <= self.limit if self.at_most else self.measured >= self.limit


class Run:
    """One scale's record."""

    def __init__(self, record: Record) -> None:
        self.record = record

    @property
    def scale(self) -> float:
        return float(self.record["scale"])

    def phase_seconds(self, phase: Phase) -> float:
        return float(next(p["seconds"] for p in self.record["phases"] if p["phase"] == phase))

    @property
    def loads_seconds(self) -> float:
        return self.phase_seconds(Phase.LOADS)

    @property
    def build_seconds(self) -> float:
        return self.phase_seconds(Phase.DBT_BUILD)

    @property
    def dbt_over_loads(self) -> float:
        return self.build_seconds / self.loads_seconds

    def _raw(self) -> list[Record]:
        return [r for r in self.record["relations"] if r["schema"] == "imdb_raw" and r["name"] in RAW_TABLES]

    @property
    def raw_rows(self) -> int:
        return sum(int(r["rows"]) for r in self._raw())

    @property
    def raw_bytes(self) -> int:
        """The seven raw tables with their indexes, at the end of the run."""
        return sum(int(r["table_bytes"]) + int(r["index_bytes"]) for r in self._raw())

    def schema_bytes(self, schema: str) -> int:
        return sum(
            int(r["table_bytes"]) + int(r["index_bytes"]) for r in self.record["relations"] if r["schema"] == schema
        )

    def peak(self, key: str) -> tuple[int, str]:
        """The largest sample of ``key`` and the phase it was taken in."""
        best = max(self.record["samples"], key=lambda s: int(s[key]))
        return int(best[key]), str(best["phase"])

    @property
    def peak_disk_bytes(self) -> int:
        """The data directory at its largest: what the warehouse's volume must hold (WAL included)."""
        return self.peak("data_dir_bytes")[0]

    @property
    def peak_disk_over_raw(self) -> float:
        return self.peak_disk_bytes / self.raw_bytes

    @property
    def volume_bytes(self) -> int:
        return quantity_bytes(str(self.record["chart_volume"]))

    @property
    def volume_over_peak(self) -> float:
        return self.volume_bytes / self.peak_disk_bytes

    def nodes(self, kind: str | None = None) -> list[Record]:
        nodes = [n for n in self.record["dbt_nodes"] if kind is None or n["kind"] == kind]
        return sorted(nodes, key=lambda n: (-float(n["seconds"]), n["unique_id"]))

    def slowest(self, count: int = 15) -> list[Record]:
        return self.nodes()[:count]

    @property
    def node_seconds(self) -> float:
        """dbt's per-node times summed: the SQL work, done by several threads at once."""
        return sum(float(n["seconds"]) for n in self.record["dbt_nodes"])

    @property
    def largest_node_share(self) -> float:
        return float(self.slowest(1)[0]["seconds"]) / self.build_seconds

    def relation(self, name: str) -> Record | None:
        return next((r for r in self.record["relations"] if r["name"] == name and r["schema"] != "imdb_raw"), None)

    def failures(self) -> list[Record]:
        return [n for n in self.record["dbt_nodes"] if n["status"] not in ("success", "pass", "warn")]

    def checks(self) -> list[Check]:
        checks = []
        at = f"scale {self.scale:g}: "
        if self.scale in TARGET_SCALES:
            checks.append(
                Check(at + "dbt build ÷ seven loads (wall)", self.dbt_over_loads, Target.DBT_OVER_LOADS.value)
            )
        if self.scale == FULL_SCALE:
            checks += [
                Check(at + "peak disk ÷ raw tables", self.peak_disk_over_raw, Target.PEAK_DISK_OVER_RAW.value),
                Check(
                    at + "chart volume at the time ÷ peak disk",
                    self.volume_over_peak,
                    Target.VOLUME_HEADROOM.value,
                    at_most=False,
                ),
                Check(at + "slowest node ÷ dbt build", self.largest_node_share, Target.NODE_SHARE.value),
            ]
        return checks


@dataclass(frozen=True)
class Growth:
    small: Run
    large: Run

    @property
    def data(self) -> float:
        return self.large.raw_rows / self.small.raw_rows

    @property
    def loads(self) -> float:
        return self.large.loads_seconds / self.small.loads_seconds

    @property
    def dbt(self) -> float:
        return self.large.build_seconds / self.small.build_seconds

    @property
    def dbt_over_data(self) -> float:
        return self.dbt / self.data

    @property
    def check(self) -> Check:
        name = f"dbt growth ÷ data growth, {self.small.scale} → {self.large.scale}"
        return Check(name, self.dbt_over_data, Target.GROWTH_OVER_DATA.value)


class Summary:
    def __init__(self, results: Record) -> None:
        self.runs = sorted((Run(r) for r in results["runs"].values()), key=lambda r: r.scale)

    def growth(self) -> list[Growth]:
        return [Growth(a, b) for a, b in zip(self.runs, self.runs[1:], strict=False)]

    def checks(self) -> list[Check]:
        return [c for run in self.runs for c in run.checks()] + [g.check for g in self.growth()]

    @property
    def largest(self) -> Run:
        return self.runs[-1]
