"""Reading the loaders' JSON summaries, and deciding whether dbt has anything to do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from imdb_loader.outcome import LoadStatus


def dataset_statuses(result: Mapping[str, Any] | None) -> list[str]:
    """Per-dataset statuses in one ``imdb-load --result-file`` summary (empty if unreadable)."""
    if not isinstance(result, Mapping):
        return []
    datasets = result.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        status = result.get("status")
        return [status] if isinstance(status, str) else []
    return [str(d.get("status")) for d in datasets if isinstance(d, Mapping)]


def dbt_needed(results: Iterable[Mapping[str, Any] | None], force: bool) -> tuple[bool, str]:
    """``(run dbt?, why)``. dbt is skipped only when every load positively reported "unchanged".

    A missing or unreadable summary counts as a change: rebuilding the marts for nothing costs
    minutes, serving stale marts after a real change costs a day.
    """
    if force:
        return True, "force_dbt is set"
    results = list(results)
    statuses = [dataset_statuses(r) for r in results]
    unknown = sum(1 for s in statuses if not s)
    if unknown:
        return True, f"{unknown} load result(s) missing or unreadable; running dbt to be safe"
    changed = [s for group in statuses for s in group if s != LoadStatus.UNCHANGED]
    if changed:
        return True, f"{len(changed)} dataset(s) changed"
    return False, f"all {len(results)} datasets unchanged; skipping dbt"
