"""The sink's HTTP connections: uvicorn's httptools protocol, with the bounds the sink promises.

uvicorn bounds neither how long a client may take to send a request nor how large its head may grow:
a connection that sends nothing, or a header a byte at a time, stays open (its keep-alive timeout
runs only between requests), and httptools holds every header byte it is sent. Its
`limit_concurrency` answers 503 past the limit but keeps accepting and holding connections. So the
protocol here adds, through asyncio's Protocol methods and httptools' parser callbacks only:

- at most `max_connections` open at once: one more is counted (refusal "connections") and closed;
- a connection that sends nothing for `read_timeout_s` is closed, in a request or between two, so a
  stalled or dripping client holds its slot for a bounded time per read;
- a request head (request line and headers) over `max_head_bytes` is answered 431 and closed.

A head the parser cannot read is uvicorn's own one-line 400, logged as a warning without a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("payload-sink")

_HEAD_TOO_LARGE = b"request head too large\n"
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_HEAD_TOO_LARGE)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _HEAD_TOO_LARGE
)


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 256
    read_timeout_s: float = 10.0
    max_head_bytes: int = 64 * 1024  # KServe's agent sends about 600 bytes of head


def bounded_protocol(limits: ConnectionLimits, *, refused: Callable[[str], None]) -> type[HttpToolsProtocol]:
    """A protocol class for one server (uvicorn.Config's `http`); `refused(reason)` counts what it closes."""
    open_connections: set[HttpToolsProtocol] = set()

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _sink_transport: asyncio.Transport
        _sink_timer: asyncio.TimerHandle | None = None
        _sink_last_read = 0.0
        _sink_in_head = True  # reading a request's line and headers, not its body
        _sink_head_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._sink_transport = transport
            if len(open_connections) >= limits.max_connections:
                log.warning("closed a connection: %d already open", limits.max_connections)
                refused("connections")
                transport.close()
                return
            open_connections.add(self)
            self._sink_last_read = time.monotonic()
            self._sink_timer = asyncio.get_running_loop().call_later(limits.read_timeout_s, self._sink_check)

        def connection_lost(self, exc: Exception | None) -> None:
            open_connections.discard(self)
            if self._sink_timer is not None:
                self._sink_timer.cancel()
                self._sink_timer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            # A timestamp per read, not a timer re-armed per read: the check re-arms itself (_sink_check).
            self._sink_last_read = time.monotonic()
            if self._sink_in_head:
                self._sink_head_bytes += len(data)
            super().data_received(data)
            if (
                self._sink_in_head
                and self._sink_head_bytes > limits.max_head_bytes
                and not self._sink_transport.is_closing()
            ):
                refused("head")
                self._sink_transport.write(_431)
                self._sink_transport.close()

        def on_message_begin(self) -> None:
            self._sink_in_head = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._sink_in_head = False
            self._sink_head_bytes = 0
            super().on_headers_complete()

        def _sink_check(self) -> None:
            idle = time.monotonic() - self._sink_last_read
            if idle >= limits.read_timeout_s:
                self._sink_timer = None
                self._sink_transport.close()
            else:
                loop = asyncio.get_running_loop()
                self._sink_timer = loop.call_later(limits.read_timeout_s - idle, self._sink_check)

    return BoundedHttpToolsProtocol
