"""Load settings: one dataclass that validates itself and names the bad key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from psycopg2.extensions import parse_dsn

from imdb_loader.defaults import DEFAULT_BASE_URL, DEFAULT_SCHEMA
from imdb_loader.errors import ConfigError

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_SCHEMA", "HttpSettings", "LoadConfig", "RejectLimit", "describe_dsn"]
DEFAULT_REJECT_LIMIT = "0.01"
DEFAULT_MIN_ROWS_RATIO = 0.9
"""A new version with fewer rows than this share of the live table's is refused."""
DEFAULT_SOURCE_TIMEOUT_S = 120.0
"""The longest the source may keep us waiting for an answer, retries included."""
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class RejectLimit:
    """Either an absolute count (``100``) or a fraction of the rows read (``0.01``)."""

    count: int | None = None
    fraction: float | None = None

    @classmethod
    def parse(cls, text: str) -> RejectLimit:
        value = text.strip()
        try:
            if re.fullmatch(r"\d+", value):
                return cls(count=int(value))
            number = float(value)
        except ValueError:
            number = -1.0
        if not 0.0 <= number < 1.0:
            raise ConfigError(
                f"reject-limit: {text!r} is neither a row count (e.g. 100) nor a fraction below 1 (e.g. 0.01)"
            )
        return cls(fraction=number)

    def allowed(self, rows_read: int) -> int:
        if self.count is not None:
            return self.count
        assert self.fraction is not None
        return int(self.fraction * rows_read)

    def stops_at_first(self) -> bool:
        """True when not a single bad row is allowed, whatever the file's size."""
        return self.count == 0 or self.fraction == 0.0

    def rejects_to_keep(self, beyond: int) -> int | None:
        """How many rejects are worth storing: the limit plus ``beyond`` (for the error report),
        or None (all) when the limit is a fraction of a row count not known yet."""
        return None if self.count is None else self.count + beyond

    def __str__(self) -> str:
        return str(self.count) if self.count is not None else f"{self.fraction:g} of rows"


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    """The longest one read may wait: for the response headers, or for more of the body."""
    source_timeout: float = DEFAULT_SOURCE_TIMEOUT_S
    """The longest one request may take to get an answer, over all its retries and backoff."""
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_resumes: int = 10
    chunk_size: int = 1 << 20

    def __post_init__(self) -> None:
        for key in ("connect_timeout", "read_timeout", "backoff_base", "backoff_max"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must not be negative, got {getattr(self, key)}")
        if not self.source_timeout > 0:
            raise ConfigError(f"source-timeout: must be a positive number of seconds, got {self.source_timeout}")
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {self.max_attempts}")


@dataclass(frozen=True)
class LoadConfig:
    dsn: str = ""
    """libpq URI or keyword string; empty means libpq's PG* environment variables."""
    base_url: str = DEFAULT_BASE_URL
    schema: str = DEFAULT_SCHEMA
    force: bool = False
    reject_limit: RejectLimit = field(default_factory=lambda: RejectLimit.parse(DEFAULT_REJECT_LIMIT))
    min_rows_ratio: float = DEFAULT_MIN_ROWS_RATIO
    allow_shrink: bool = False
    """Swap in any version, however small (the dataset's floor and the ratio are not applied)."""
    http: HttpSettings = field(default_factory=HttpSettings)
    lock_timeout_s: float = 2.0
    swap_attempts: int = 30
    maintenance_work_mem: str = "512MB"
    progress_every_s: float = 5.0

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.schema):
            raise ConfigError(f"schema: {self.schema!r} is not a plain lower-case SQL identifier")
        if not self.base_url.startswith(("http://", "https://", "file://")):
            raise ConfigError(f"base-url: {self.base_url!r} must start with http:// or https://")
        if not self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", self.base_url + "/")
        if self.dsn:
            try:
                parse_dsn(self.dsn)
            except Exception as exc:
                raise ConfigError("dsn: not a valid libpq connection string or URI") from exc
        if not 0.0 <= self.min_rows_ratio <= 1.0:
            raise ConfigError(f"min-rows-ratio: must be between 0 and 1, got {self.min_rows_ratio}")
        if self.swap_attempts < 1:
            raise ConfigError(f"swap_attempts must be at least 1, got {self.swap_attempts}")

    @property
    def lock_wait_s(self) -> float:
        """The longest a load waits for other sessions' locks in one step: the swap's attempts together.
        The change capture waits that long at once (it asks for a lock that readers do not queue behind)."""
        return self.lock_timeout_s * self.swap_attempts

    def url_for(self, file_name: str) -> str:
        return self.base_url + file_name

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> LoadConfig:
        """Defaults, then IMDB_* environment variables, then explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for key, var in (("dsn", "IMDB_DSN"), ("base_url", "IMDB_BASE_URL"), ("schema", "IMDB_SCHEMA")):
            if env.get(var):
                values[key] = env[var]
        if env.get("IMDB_REJECT_LIMIT"):
            values["reject_limit"] = RejectLimit.parse(env["IMDB_REJECT_LIMIT"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def describe_dsn(dsn: str) -> str:
    """user@host:port/db for logs: never the password."""
    params = parse_dsn(dsn) if dsn else {}
    env = os.environ
    user = params.get("user") or env.get("PGUSER") or "(default user)"
    host = params.get("host") or env.get("PGHOST") or "localhost"
    port = params.get("port") or env.get("PGPORT") or "5432"
    db = params.get("dbname") or env.get("PGDATABASE") or user
    return f"{user}@{host}:{port}/{db}"
