"""A local stand-in for https://datasets.imdbws.com/: a folder of files over HTTP on 127.0.0.1.

It speaks the parts of HTTP the loader relies on, as IMDb's CDN does: ``ETag`` (strong),
``Last-Modified``, ``Content-Length``, ``Content-Type: application/x-gzip`` (the body is the
gzip file itself, not a ``Content-Encoding``), HEAD, conditional GET (304), and single byte
ranges (206, ``If-Range``, 416). Faults can be switched on per file or for all files, also
while the server runs: drop the connection, answer 503/429, trickle slowly, truncate the
body, ignore ``Range``. Every request is recorded with its headers, so tests can assert
what a client sent.

Each request reads the file as it is at that moment (validators from ``fstat`` of the open
file), so replacing a file on disk, as IMDb's daily refresh does, changes its ETag and
Last-Modified: ``imdb-synth --day N+1`` over a served folder of day N is the next day's IMDb.
"""

from __future__ import annotations

import contextlib
import email.utils
import fcntl
import html
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from imdb_devkit.synth import publish

CONTENT_TYPES = {".gz": "application/x-gzip", ".tsv": "text/tab-separated-values; charset=utf-8"}
_CHUNK = 64 * 1024
_SIOCOUTQ = 0x5411  # Linux: bytes in a socket's send queue not yet acknowledged
_DRAIN_SECONDS = 2.0

# Fault kinds.
DROP = "drop"
STATUS = "status"
THROTTLE = "throttle"
TRUNCATE = "truncate"
IGNORE_RANGE = "ignore_range"


@dataclass
class _Rule:
    kind: str
    remaining: int | None
    """Requests this rule still applies to; None for every request."""
    nbytes: int = 0
    status: int = 0
    retry_after: int | None = None


class Faults:
    """Switchable misbehaviour. ``file`` is a file name such as ``title.basics.tsv.gz``;
    ``None`` means every file. A per-file rule wins over the global rule of the same kind.
    ``times`` is how many requests a fault hits before it switches itself off (``None``: all).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[tuple[str, str | None], _Rule] = {}

    def drop_after(self, nbytes: int, *, times: int | None = 1, file: str | None = None) -> None:
        """Reset the connection after ``nbytes`` of body (fewer than Content-Length)."""
        self._set(file, _Rule(DROP, times, nbytes=_non_negative(nbytes)))

    def fail(
        self, status: int = 503, *, times: int | None = 1, retry_after: int | None = None, file: str | None = None
    ) -> None:
        """Answer ``status`` (503, 429, ...) instead of the file, with ``Retry-After`` if given."""
        if not 400 <= status <= 599:
            raise ValueError(f"fault status must be an HTTP error status, got {status}")
        self._set(file, _Rule(STATUS, times, status=status, retry_after=retry_after))

    def throttle(self, bytes_per_second: int, *, file: str | None = None) -> None:
        """Trickle bodies at about ``bytes_per_second``."""
        if bytes_per_second <= 0:
            raise ValueError(f"throttle must be a positive bytes/second, got {bytes_per_second}")
        self._set(file, _Rule(THROTTLE, None, nbytes=bytes_per_second))

    def truncate(self, nbytes: int, *, times: int | None = 1, file: str | None = None) -> None:
        """Send only ``nbytes`` of a body, then close the connection cleanly (FIN)."""
        self._set(file, _Rule(TRUNCATE, times, nbytes=_non_negative(nbytes)))

    def ignore_range(self, *, times: int | None = None, file: str | None = None) -> None:
        """Answer range requests with 200 and the whole body, as some servers do."""
        self._set(file, _Rule(IGNORE_RANGE, times))

    def clear(self, file: str | None = None) -> None:
        """Switch faults off: all of them, or only the per-file rules of ``file``."""
        with self._lock:
            for key in [k for k in self._rules if file is None or k[1] == file]:
                del self._rules[key]

    def active(self) -> list[tuple[str, str | None]]:
        """(kind, file) of the rules still switched on."""
        with self._lock:
            return sorted(self._rules, key=lambda k: (k[0], k[1] or ""))

    def _set(self, file: str | None, rule: _Rule) -> None:
        if rule.remaining is not None and rule.remaining <= 0:
            raise ValueError(f"times must be positive or None, got {rule.remaining}")
        with self._lock:
            self._rules[(rule.kind, file)] = rule

    def take(self, kind: str, file: str) -> _Rule | None:
        """The rule of ``kind`` that applies to this request, counting it as used."""
        with self._lock:
            key = (kind, file) if (kind, file) in self._rules else (kind, None)
            rule = self._rules.get(key)
            if rule is None:
                return None
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    del self._rules[key]
            return rule


def _non_negative(n: int) -> int:
    if n < 0:
        raise ValueError(f"byte count must be >= 0, got {n}")
    return n


@dataclass
class RecordedRequest:
    method: str
    path: str
    """The file name asked for, without the leading slash."""
    headers: dict[str, str]
    status: int
    body_bytes: int = 0
    """Body bytes handed to the socket. Counted before each write, so once a client has the
    whole body the count is final; a client that hangs up mid-body may be over-counted."""
    faults: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class _FileView:
    size: int
    etag: str
    last_modified: str
    mtime: float


def _view(f: BinaryIO) -> _FileView:
    st = os.fstat(f.fileno())
    # Inode + size + mtime: a replaced file (new inode) or a rewritten one gets a new ETag.
    etag = f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"'
    return _FileView(st.st_size, etag, email.utils.formatdate(st.st_mtime, usegmt=True), st.st_mtime)


def _parse_http_date(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _etag_list_matches(header: str, etag: str) -> bool:
    """If-None-Match uses weak comparison: ``W/"x"`` matches ``"x"``."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)
UNSATISFIABLE = "unsatisfiable"


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """``bytes=N-``, ``bytes=N-M`` or ``bytes=-S`` -> (first, last), both inclusive.

    None when the header is to be ignored (another unit, several ranges, bad syntax), as
    RFC 9110 allows; ``UNSATISFIABLE`` when the range starts past the end of the file.
    """
    match = _RANGE.fullmatch(header)
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if not first_text:  # a suffix: the last S bytes
        suffix = int(last_text)
        return (max(0, size - suffix), size - 1) if suffix > 0 and size > 0 else UNSATISFIABLE
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    return (first, min(last, size - 1)) if first < size else UNSATISFIABLE


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read ``ImdbServer.requests`` instead."""

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    # ----------------------------------------------------------------- dispatch

    def _respond(self, *, head: bool) -> None:
        name = unquote(urlsplit(self.path).path).lstrip("/")
        record = RecordedRequest(self.command, name, dict(self.headers.items()), 0)
        self.server.owner.record(record)
        if name == "":
            self._index(record, head)
            return
        path = self.server.directory / name
        if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
            self._simple(record, HTTPStatus.NOT_FOUND, f"no such file: {name}\n", head)
            return
        fault = self.server.faults.take(STATUS, name)
        if fault is not None:
            record.faults.append(f"{STATUS}:{fault.status}")
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            self._simple(record, fault.status, f"fault injected: {fault.status}\n", head, extra)
            return
        try:
            with open(path, "rb") as f:
                self._file(record, f, name, head)
        except FileNotFoundError:  # replaced between is_file() and open()
            self._simple(record, HTTPStatus.NOT_FOUND, f"no such file: {name}\n", head)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away; nothing to tell it

    def _file(self, record: RecordedRequest, f: BinaryIO, name: str, head: bool) -> None:
        view = _view(f)
        validators = {"ETag": view.etag, "Last-Modified": view.last_modified, "Accept-Ranges": "bytes"}
        if self._not_modified(view):
            record.status = int(HTTPStatus.NOT_MODIFIED)
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for key, value in validators.items():
                self.send_header(key, value)
            self.end_headers()
            return
        first, last, status = 0, view.size - 1, HTTPStatus.OK
        wanted = self._wanted_range(view, name, record)
        if wanted == UNSATISFIABLE:
            extra = {"Content-Range": f"bytes */{view.size}", **validators}
            self._simple(record, HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "range not satisfiable\n", head, extra)
            return
        if isinstance(wanted, tuple):
            first, last = wanted
            status = HTTPStatus.PARTIAL_CONTENT
        length = last - first + 1 if view.size else 0
        record.status = int(status)
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(length))
        for key, value in validators.items():
            self.send_header(key, value)
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {first}-{last}/{view.size}")
        self.end_headers()
        if not head and length:
            self._body(record, f, name, first, length)

    def _not_modified(self, view: _FileView) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
            return _etag_list_matches(inm, view.etag)
        ims = self.headers.get("If-Modified-Since")
        since = _parse_http_date(ims) if ims else None
        return since is not None and int(view.mtime) <= since

    def _wanted_range(self, view: _FileView, name: str, record: RecordedRequest) -> tuple[int, int] | str | None:
        header = self.headers.get("Range")
        if header is None:
            return None
        if_range = self.headers.get("If-Range")
        if if_range is not None and not self._if_range_holds(if_range.strip(), view):
            return None  # the file changed: send all of it
        wanted = parse_range(header, view.size)
        if wanted is not None and self.server.faults.take(IGNORE_RANGE, name) is not None:
            record.faults.append(IGNORE_RANGE)
            return None
        return wanted

    @staticmethod
    def _if_range_holds(if_range: str, view: _FileView) -> bool:
        if if_range.startswith(('"', "W/")):
            return if_range == view.etag  # strong comparison; a weak tag never matches
        when = _parse_http_date(if_range)
        # An HTTP date has one-second resolution, so it is only a strong validator for a file
        # that has not changed within the last second (RFC 9110, 8.8.2.2).
        settled = view.mtime < time.time() - 1
        return when is not None and settled and int(view.mtime) == int(when)

    # ----------------------------------------------------------------- bodies

    def _body(self, record: RecordedRequest, f: BinaryIO, name: str, first: int, length: int) -> None:
        faults = self.server.faults
        cut, how = length, ""
        for kind in (DROP, TRUNCATE):
            rule = faults.take(kind, name)
            if rule is not None and rule.nbytes < cut:
                cut, how = rule.nbytes, kind
                record.faults.append(f"{kind}:{rule.nbytes}")
        throttle = faults.take(THROTTLE, name)
        if throttle is not None:
            record.faults.append(f"{THROTTLE}:{throttle.nbytes}")
            self._trickle(record, f, first, cut, throttle.nbytes)
        elif cut:
            record.body_bytes = cut  # counted before sending: a client holding the body sees the count
            record.body_bytes = self.connection.sendfile(f, offset=first, count=cut)
        if how:
            self._hang_up(abruptly=how == DROP)

    def _trickle(self, record: RecordedRequest, f: BinaryIO, first: int, count: int, rate: int) -> None:
        f.seek(first)
        chunk = max(1, min(_CHUNK, rate // 10))
        while count > 0:
            data = f.read(min(chunk, count))
            if not data:
                break
            record.body_bytes += len(data)
            self.wfile.write(data)
            count -= len(data)
            time.sleep(len(data) / rate)

    def _hang_up(self, *, abruptly: bool) -> None:
        """End the connection before the promised Content-Length."""
        self.close_connection = True
        sock = self.connection
        if abruptly:
            # Let the bytes already sent reach the client, then reset (RST) the connection.
            deadline = time.monotonic() + _DRAIN_SECONDS
            while _unsent_bytes(sock) > 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)

    # ----------------------------------------------------------------- small answers

    def _simple(
        self,
        record: RecordedRequest,
        status: int,
        text: str,
        head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        body = text.encode()
        record.status = int(status)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            record.body_bytes = len(body)
            self.wfile.write(body)

    def _index(self, record: RecordedRequest, head: bool) -> None:
        names = sorted(p.name for p in self.server.directory.iterdir() if p.is_file() and not p.name.startswith("."))
        items = "".join(f'<li><a href="{html.escape(n)}">{html.escape(n)}</a></li>' for n in names)
        body = f"<!doctype html><title>IMDb datasets (local)</title><ul>{items}</ul>\n".encode()
        record.status = int(HTTPStatus.OK)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _unsent_bytes(sock: socket.socket) -> int:
    try:
        buf = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", buf)[0])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a throttled download to finish
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: ImdbServer) -> None:
        self.owner = owner
        self.directory = owner.directory
        self.faults = owner.faults
        super().__init__(address, _Handler)


class ImdbServer:
    """A running local IMDb. Use ``serve()``; or ``ImdbServer(dir).start()`` and ``.stop()``."""

    def __init__(self, directory: Path | str, port: int = 0, host: str = "127.0.0.1") -> None:
        self.directory = Path(directory).resolve()
        if not self.directory.is_dir():
            raise NotADirectoryError(f"not a directory: {self.directory}")
        self.faults = Faults()
        self._log_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._httpd = _Server((host, port), self)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def url(self, file: str) -> str:
        return self.base_url + file

    def start(self) -> ImdbServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="imdb-serve", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the CLI)."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    # ----------------------------------------------------------------- the request log

    def record(self, request: RecordedRequest) -> None:
        with self._log_lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._log_lock:
            return list(self._requests)

    def requests_for(self, file: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == file and (method is None or r.method == method)]

    def count(self, file: str, method: str | None = None) -> int:
        return len(self.requests_for(file, method))

    def counts(self) -> dict[str, int]:
        """Requests per path."""
        out: dict[str, int] = {}
        for r in self.requests:
            out[r.path] = out.get(r.path, 0) + 1
        return out

    def clear_log(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def __enter__(self) -> ImdbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve(directory: Path | str, port: int = 0, host: str = "127.0.0.1") -> Iterator[ImdbServer]:
    """Serve ``directory`` on ``host:port`` (0: a free port) for the duration of the block."""
    server = ImdbServer(directory, port=port, host=host).start()
    try:
        yield server
    finally:
        server.stop()


def replace_file(target: Path | str, content: bytes | Path | str) -> None:
    """Replace ``target`` the way IMDb's daily refresh does, for tests.

    Atomic (write beside it, then rename), so the file gets a new inode and ETag; its
    mtime is set at least one second past the old one, so ``Last-Modified`` changes too
    even when the test runs within the same second. ``imdb_devkit.synth.generate`` publishes
    its files the same way, so writing day N+1 over day N is a new version of every file.
    """
    target = Path(target)
    data = content if isinstance(content, bytes) else Path(content).read_bytes()
    staging = target.with_name(f".{target.name}.replacing")
    staging.write_bytes(data)
    publish(staging, target)
