"""Domain errors. Each maps to one exit code and prints as one line."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    BAD_ARGUMENTS = 2
    SOURCE_UNAVAILABLE = 3
    SOURCE_FORMAT_CHANGED = 4
    TOO_MANY_REJECTS = 5
    DATABASE_ERROR = 6
    BUSY = 7


class LoaderError(Exception):
    """Base class: ``str(err)`` is the one line a user sees."""

    exit_code = ExitCode.UNEXPECTED


class ConfigError(LoaderError):
    exit_code = ExitCode.BAD_ARGUMENTS


class SourceUnavailableError(LoaderError):
    """The source could not be fetched completely (network, HTTP status, truncation)."""

    exit_code = ExitCode.SOURCE_UNAVAILABLE


class SourceChangedError(SourceUnavailableError):
    """The file changed on the server while we were reading it; a clean restart is needed."""


class SourceFormatError(LoaderError):
    """The file is not what the registry describes (header, gzip framing)."""

    exit_code = ExitCode.SOURCE_FORMAT_CHANGED


class TooManyRejectsError(LoaderError):
    exit_code = ExitCode.TOO_MANY_REJECTS


class DatabaseError(LoaderError):
    exit_code = ExitCode.DATABASE_ERROR


class BusyError(LoaderError):
    """Another loader holds this dataset's advisory lock."""

    exit_code = ExitCode.BUSY


class BadRowsFound(Exception):  # noqa: N818 - a signal, not a failure
    """The fast path met a row it cannot take as is; the careful path must run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
