"""The benchmark's names and targets, in one place."""

from __future__ import annotations

from enum import Enum, StrEnum


class Phase(StrEnum):
    """What the run is doing; the disk samples are tagged with it."""

    LOADS = "loads"
    DBT_BUILD = "dbt build"
    FRESHNESS = "dbt source freshness"


class Target(float, Enum):
    """What the pipeline must reach, as ratios within one run."""

    DBT_OVER_LOADS = 1.5
    """dbt build (models and tests) at most this many times the seven loads' wall time."""
    GROWTH_OVER_DATA = 1.1
    """Between two scales, dbt's growth at most this many times the data's growth."""
    PEAK_DISK_OVER_RAW = 3.0
    """Peak warehouse disk during the run at most this many times the raw tables' size."""
    VOLUME_HEADROOM = 1.3
    """The chart's default warehouse volume holds the measured peak plus 30 %."""
    NODE_SHARE = 0.25
    """No dbt node takes more than this share of the build's wall time."""


TARGET_SCALES = (0.2, 1.0)
"""Scales at which the dbt-over-loads target is judged."""
FULL_SCALE = 1.0
"""The real size: where the disk, volume and node-share targets are judged."""
