"""How a load ends: the status recorded in ``load_runs`` and the result file, the exit code, and
what changed (the change log's kinds, and why a run says "everything changed").

Everything that reads or writes an outcome (the loader, its audit tables' CHECK constraints,
the DAG's runners and tests) imports these enums; no other file spells them out.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class LoadStatus(StrEnum):
    RUNNING = "running"
    """Started and not finished yet (or killed before it could say so)."""
    LOADED = "loaded"
    """A new version is live. Set in the same transaction as the swap."""
    UNCHANGED = "unchanged"
    """The live table already holds this source version; nothing was read."""
    FAILED = "failed"
    """Stopped before the swap; the previous table stays live. ``error`` says why."""
    ABANDONED = "abandoned"
    """Found still ``running`` by a later run: the loader died without a word."""
    BUSY = "busy"
    """Not started: another loader held the dataset."""


class ChangeKind(StrEnum):
    """What a new version did to one key, in ``load_changes.change``."""

    ADDED = "added"
    """The key is in the new version only."""
    CHANGED = "changed"
    """The key is in both, with another value in at least one column."""
    REMOVED = "removed"
    """The key was in the replaced version only."""


class FullReason(StrEnum):
    """Why a loaded run records "everything changed" (``load_runs.changes_full``) instead of keys."""

    NO_LIVE_TABLE = "no_live_table"
    """Nothing to compare with: the dataset's first load, or its table had been dropped."""
    FORCED = "forced"
    """``--force``: whoever reloads on purpose wants everything downstream rebuilt."""
    COLUMNS_CHANGED = "columns_changed"
    """The live table has other columns (names, types or collations) than the new version."""


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    BAD_ARGUMENTS = 2
    SOURCE_UNAVAILABLE = 3
    SOURCE_FORMAT_CHANGED = 4
    TOO_MANY_REJECTS = 5
    DATABASE_ERROR = 6
    BUSY = 7
    RESULT_NOT_WRITTEN = 8
    """The loads ended as reported, but ``--result-file`` could not be written."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT): 128 + 2, as shells report it."""
    TERMINATED = 143
    """SIGTERM, what Kubernetes sends to stop a pod: 128 + 15."""
