"""Domain errors. Each maps to one exit code and prints as one line."""

from __future__ import annotations

from imdb_loader.outcome import ExitCode

__all__ = [
    "BadRowsFound",
    "BusyError",
    "ConfigError",
    "DatabaseError",
    "ExitCode",
    "LoaderError",
    "LostLockError",
    "ResultFileError",
    "SourceChangedError",
    "SourceFormatError",
    "SourceShrankError",
    "SourceUnavailableError",
    "StoppedError",
    "TooManyRejectsError",
]


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


class SourceShrankError(SourceFormatError):
    """The new version holds far fewer rows than the live table: refused, not swapped in."""


class TooManyRejectsError(LoaderError):
    exit_code = ExitCode.TOO_MANY_REJECTS


class DatabaseError(LoaderError):
    exit_code = ExitCode.DATABASE_ERROR


class LostLockError(DatabaseError):
    """The connection holding the dataset's advisory lock died: stop before a second loader starts."""


class BusyError(LoaderError):
    """Another loader holds this dataset's advisory lock."""

    exit_code = ExitCode.BUSY


class StoppedError(LoaderError):
    """SIGTERM or Ctrl-C arrived before the swap."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ResultFileError(LoaderError):
    exit_code = ExitCode.RESULT_NOT_WRITTEN


class BadRowsFound(Exception):  # noqa: N818 - a signal, not a failure
    """The fast path met a row it cannot take as is; the careful path must run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
