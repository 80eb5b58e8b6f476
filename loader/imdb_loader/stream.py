"""A bounded pipe from a producer thread to a blocking ``read()``.

The download and gunzip run in a thread while PostgreSQL's COPY reads from the other
end, so the network, zlib (which releases the GIL) and the server overlap. The queue
is bounded: memory stays constant whatever the file size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

_END = object()


class StopProducing(Exception):  # noqa: N818 - control flow
    pass


class PipeReader:
    """File-like object over chunks produced in a background thread."""

    def __init__(self, produce: Callable[[], Iterator[bytes]], depth: int = 16) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._buffer = b""
        self._eof = False
        self.bytes_read = 0
        self.newlines = 0
        self.ends_with_newline = True
        self.failure: BaseException | None = None
        self._abort: BaseException | None = None
        self.on_chunk: Callable[[bytes], None] | None = None
        self._thread = threading.Thread(target=self._run, args=(produce,), daemon=True, name="imdb-download")
        self._thread.start()

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise StopProducing

    def _run(self, produce: Callable[[], Iterator[bytes]]) -> None:
        try:
            for chunk in produce():
                self._put(chunk)
            self._put(_END)
        except StopProducing:
            return
        except BaseException as exc:  # handed to the reader, which re-raises it
            try:
                self._put(exc)
            except StopProducing:
                return

    def _next_chunk(self) -> bytes:
        try:
            return self._take_chunk()
        except BaseException as exc:
            # psycopg2 turns an exception raised inside read() into QueryCanceled;
            # keep the original so the caller can report what really happened.
            self.failure = exc
            raise

    def _take_chunk(self) -> bytes:
        if self._eof:
            return b""
        if self._abort is not None:
            raise self._abort
        while True:
            try:
                item = self._queue.get(timeout=0.2)
                break
            except queue.Empty:
                if self._abort is not None:
                    raise self._abort from None
        if item is _END:
            self._eof = True
            return b""
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        chunk: bytes = item
        if self.on_chunk is not None:
            self.on_chunk(chunk)
        self.bytes_read += len(chunk)
        self.newlines += chunk.count(b"\n")
        self.ends_with_newline = chunk.endswith(b"\n")
        return chunk

    def read(self, size: int = -1) -> bytes:
        if not self._buffer:
            self._buffer = self._next_chunk()
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readline(self, limit: int | None = None) -> bytes:
        """The next line with its newline; at most ``limit`` bytes of it (then without one)."""
        parts: list[bytes] = []
        size = 0
        while limit is None or size < limit:
            if not self._buffer:
                self._buffer = self._next_chunk()
                if not self._buffer:
                    break
            idx = self._buffer.find(b"\n")
            if idx >= 0:
                parts.append(self._buffer[: idx + 1])
                self._buffer = self._buffer[idx + 1 :]
                break
            parts.append(self._buffer)
            size += len(self._buffer)
            self._buffer = b""
        line = b"".join(parts)
        if limit is not None and len(line) > limit:
            line, self._buffer = line[:limit], line[limit:] + self._buffer
        return line

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    @property
    def lines(self) -> int:
        """Lines seen so far, counting an unterminated last line."""
        return self.newlines + (0 if self.ends_with_newline else 1)

    def abort(self, error: BaseException) -> None:
        """Make the reading side raise ``error`` soon, even while the producer is stalled
        (thread-safe): a COPY fed from this pipe then ends at once."""
        self._abort = error

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
