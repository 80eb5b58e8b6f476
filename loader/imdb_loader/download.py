"""Conditional, resumable, verified download of one IMDb file.

* ``open_source`` asks with If-None-Match / If-Modified-Since and also compares the
  validators itself, so an unchanged file is skipped without reading its body.
* Connect errors, 5xx and 429 are retried with exponential backoff and full jitter,
  honouring Retry-After.
* A connection that drops mid-body resumes with ``Range`` + ``If-Range``; a server
  that ignores the range, or a file that changed meanwhile, raises SourceChangedError
  so the caller restarts cleanly.
* The byte count must match Content-Length, and ``gunzip`` checks the gzip trailer:
  a truncated file is never loaded.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from isal import isal_zlib  # zlib's API, about 1.5x less CPU: the core COPY needs on small machines

from imdb_loader import __version__
from imdb_loader.config import HttpSettings
from imdb_loader.errors import SourceChangedError, SourceFormatError, SourceUnavailableError

log = logging.getLogger("imdb_loader.download")

# isal's stubs declare its error as an instance; at run time it is the exception class.
GZIP_MAGIC = b"\x1f\x8b"
_GZIP_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_NETWORK_ERRORS = (
    urllib3.exceptions.HTTPError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class SourceVersion:
    """What identifies one published version of a file."""

    etag: str | None = None
    last_modified: str | None = None
    content_length: int | None = None

    @classmethod
    def from_headers(cls, headers: Any) -> SourceVersion:
        length = headers.get("Content-Length")
        return cls(
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            content_length=int(length) if length and length.isdigit() else None,
        )

    def same_as(self, other: SourceVersion | None) -> bool:
        """True only when the validators prove both are the same version."""
        if other is None:
            return False
        if self.etag and other.etag:
            return self.etag == other.etag and self.content_length == other.content_length
        if self.last_modified and other.last_modified:
            return (self.last_modified, self.content_length) == (other.last_modified, other.content_length)
        return False

    def describe(self) -> str:
        parts = [f"etag {self.etag}" if self.etag else "", self.last_modified or ""]
        if self.content_length is not None:
            parts.append(f"{self.content_length / 1e6:.1f} MB")
        return ", ".join(p for p in parts if p) or "no validators"


@dataclass
class DownloadStats:
    compressed_bytes: int = 0
    attempts: int = 0
    resumes: int = 0


def _describe_network_error(exc: BaseException, timeout: tuple[float, float]) -> str:
    """One line: a read that timed out says how long it waited and for what."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"could not connect within {timeout[0]:.0f}s"
    if isinstance(exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
        return f"connected, but no answer within {timeout[1]:.0f}s"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class HttpSource:
    url: str
    settings: HttpSettings = field(default_factory=HttpSettings)
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    stats: DownloadStats = field(default_factory=DownloadStats)

    def __post_init__(self) -> None:
        self.session.headers.setdefault("User-Agent", f"imdb-pipeline-loader/{__version__}")
        # The files are already gzip: asking for another Content-Encoding would break Range.
        self.session.headers["Accept-Encoding"] = "identity"

    def _backoff(self, attempt: int, response: requests.Response | None) -> float:
        hinted = _retry_after(response)
        if hinted is not None:
            return min(hinted, self.settings.backoff_max)
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not crypto

    def request(self, headers: dict[str, str]) -> requests.Response:
        """GET with retries, all within ``source_timeout``. Returns a streaming response with a
        non-retryable status."""
        settings = self.settings
        deadline = time.monotonic() + settings.source_timeout
        last_problem = ""
        attempt = 0
        while attempt < settings.max_attempts:
            attempt += 1
            self.stats.attempts += 1
            left = deadline - time.monotonic()
            timeout = (min(settings.connect_timeout, left), min(settings.read_timeout, left))
            response: requests.Response | None = None
            try:
                response = self.session.get(self.url, headers=headers, stream=True, timeout=timeout)
            except _NETWORK_ERRORS as exc:
                last_problem = _describe_network_error(exc, timeout)
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                last_problem = f"HTTP {response.status_code} {response.reason}"
                response.close()
            left = deadline - time.monotonic()
            if attempt == settings.max_attempts or left <= 0:
                break
            delay = min(self._backoff(attempt, response), left)
            log.warning(
                "%s: %s; retrying in %.1fs (attempt %d of %d; giving up in %.0fs, the source timeout)",
                self.url,
                last_problem,
                delay,
                attempt + 1,
                settings.max_attempts,
                left,
            )
            self.sleep(delay)
        if deadline - time.monotonic() <= 0:
            raise SourceUnavailableError(
                f"{self.url}: no usable answer within the source timeout of {settings.source_timeout:g}s "
                f"({attempt} attempts; last: {last_problem})"
            )
        raise SourceUnavailableError(f"{self.url}: gave up after {attempt} attempts: {last_problem}")

    def open(self, previous: SourceVersion | None, force: bool) -> tuple[SourceVersion, requests.Response | None]:
        """(version, response); response is None when the source is unchanged."""
        headers: dict[str, str] = {}
        if previous is not None and not force:
            if previous.etag:
                headers["If-None-Match"] = previous.etag
            if previous.last_modified:
                headers["If-Modified-Since"] = previous.last_modified
        response = self.request(headers)
        if response.status_code == 304:
            response.close()
            assert previous is not None
            return previous, None
        if response.status_code != 200:
            response.close()
            raise SourceUnavailableError(f"{self.url}: HTTP {response.status_code} {response.reason}")
        version = SourceVersion.from_headers(response.headers)
        if not force and version.same_as(previous):
            response.close()
            return version, None
        return version, response

    def reopen_same(self, version: SourceVersion) -> requests.Response:
        """The same version again, from the start; SourceChangedError if it moved on."""
        validator = version.etag or version.last_modified
        response = self.request({"If-Match": version.etag} if version.etag else {})
        if response.status_code != 200 or not SourceVersion.from_headers(response.headers).same_as(version):
            response.close()
            raise SourceChangedError(f"{self.url}: changed on the server while loading (was {validator})")
        return response

    def chunks(self, response: requests.Response, version: SourceVersion) -> Iterator[bytes]:
        """The whole body, resuming after dropped connections; verifies the length."""
        expected = version.content_length
        received = 0
        current = response
        resumes = 0
        while True:
            try:
                # read1 returns what has arrived (up to chunk_size) instead of waiting
                # for a full chunk, so a slow link still feeds COPY steadily.
                while chunk := current.raw.read1(self.settings.chunk_size, decode_content=False):
                    received += len(chunk)
                    self.stats.compressed_bytes = received
                    yield chunk
                current.close()
                if expected is None or received >= expected:
                    break
                problem = f"connection closed after {received} of {expected} bytes"
            except _NETWORK_ERRORS as exc:
                current.close()
                problem = f"{type(exc).__name__} after {received} bytes"
            if expected is None:
                raise SourceUnavailableError(f"{self.url}: {problem}, and no Content-Length to resume against")
            resumes += 1
            self.stats.resumes = resumes
            if resumes > self.settings.max_resumes:
                raise SourceUnavailableError(f"{self.url}: {problem}; gave up after {resumes - 1} resumes")
            log.warning("%s: %s; resuming at byte %d", self.url, problem, received)
            current = self._resume(version, received)
        if expected is not None and received != expected:
            raise SourceUnavailableError(f"{self.url}: received {received} bytes but Content-Length said {expected}")

    def _resume(self, version: SourceVersion, offset: int) -> requests.Response:
        headers = {"Range": f"bytes={offset}-"}
        validator = version.etag or version.last_modified
        if validator:
            headers["If-Range"] = validator
        response = self.request(headers)
        content_range = response.headers.get("Content-Range", "")
        if response.status_code == 206 and content_range.startswith(f"bytes {offset}-"):
            return response
        response.close()
        raise SourceChangedError(f"{self.url}: could not resume at byte {offset} (HTTP {response.status_code})")


def gunzip(chunks: Iterator[bytes], url: str, out_size: int = 1 << 18) -> Iterator[bytes]:
    """Decompress a gzip stream (several members allowed) in pieces of at most ``out_size``.

    Raises SourceFormatError when the stream is not gzip at all, and SourceUnavailableError
    when it breaks later (a bad checksum, a corrupt block, no trailer): that is a damaged
    transfer, which a new download can cure.
    """
    decomp = isal_zlib.decompressobj(wbits=31)
    member_started = False
    seen_any = False
    is_gzip = False
    for chunk in chunks:
        data = chunk
        if not seen_any:
            is_gzip = data.startswith(GZIP_MAGIC)
        while data:
            seen_any = member_started = True
            try:
                out = decomp.decompress(data, out_size)
            except _GZIP_ERROR as exc:
                if is_gzip:
                    raise SourceUnavailableError(
                        f"{url}: the download is corrupt ({exc}); a new download should cure it"
                    ) from exc
                raise SourceFormatError(f"{url}: not a valid gzip stream ({exc})") from exc
            if out:
                yield out
            data = decomp.unconsumed_tail
            if decomp.eof:
                data = decomp.unused_data + data
                decomp = isal_zlib.decompressobj(wbits=31)
                member_started = False
    if not seen_any:
        raise SourceFormatError(f"{url}: empty file")
    if member_started and not decomp.eof:
        raise SourceUnavailableError(f"{url}: gzip stream is truncated (no end-of-stream marker)")
