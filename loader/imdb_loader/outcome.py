"""How a load ends: the status recorded in ``load_runs`` and the result file, and the exit code.

Everything that reads or writes an outcome (the loader, its audit table's CHECK constraint,
the DAG's runners and tests) imports these two enums; no other file spells them out.
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
