"""The sink's routes as a bare ASGI app: health, metrics, and one logged event per POST (sink.py).

Each POST is refused in the order that reads the least of it: the path, the token, the length (none
is 411, over the limit 413, and neither reads the body), then the body goes to intake.Intake, which
runs here on the event loop: its work per event is CPU alone, shorter than a hand-off to a thread.
A refusal says why in its body; an accepted event is answered 200 with an empty body and its outcome
in the `payload-outcome` header.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from modelops.payloads.events import EVENT_HEADERS
from modelops.payloads.intake import Intake, Reply
from modelops.payloads.layout import RELEASES, is_model_name
from modelops.payloads.pairing import Scope

log = logging.getLogger("payload-sink")

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PATH = re.compile(r"/payloads/([^/]+)/([^/]+)/([^/]+)")
_VERSION = re.compile(r"[0-9]{1,9}")
_TEXT = b"text/plain; charset=utf-8"
_EVENT_HEADERS = frozenset(name.encode() for name in EVENT_HEADERS)
# What the sink did with an accepted event (paired, held for its pair, a duplicate): the reply's body
# is empty (see _post).
OUTCOME_HEADER = b"payload-outcome"


@functools.lru_cache(maxsize=1024)
def scope_of(path: str) -> Scope | None:
    """The partition a POST path names, or None when it is not /payloads/{model}/{release}/{version}.

    Cached: a sink hears the same few paths (a model's releases and versions) all day, and a caller
    who sends others only turns the cache over."""
    match = _PATH.fullmatch(path)
    if match is None:
        return None
    model, release, version = match.groups()
    if not is_model_name(model) or release not in RELEASES or _VERSION.fullmatch(version) is None:
        return None
    return Scope(model, release, version)


class SinkApp:
    def __init__(
        self,
        intake: Intake,
        *,
        token: Callable[[], str] | None,
        max_body_bytes: int,
        stopping: threading.Event,
    ) -> None:
        self.intake = intake
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.stopping = stopping

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; nothing else is served
            return
        # The target as sent: uvicorn's `path` is percent-decoded and without its query, and a path that
        # is not literally /payloads/{model}/{release}/{version} names no partition.
        path = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            path += "?" + scope["query_string"].decode("latin-1")
        method = scope["method"]
        if method == "POST":
            await self._post(path, scope, receive, send)
        elif method == "GET" and path == "/healthz":
            stopping = self.stopping.is_set()
            await _reply(send, Reply(503, "stopping") if stopping else Reply(200, "ok"))
        elif method == "GET" and path == "/metrics":
            payload = generate_latest(self.intake.metrics.registry)
            await _send(send, 200, payload, CONTENT_TYPE_LATEST.encode())
        elif method == "GET":
            await _reply(send, Reply(404, "not found"))
        else:
            await _reply(send, Reply(405, f"{method} is not served"), close=True)

    async def _post(self, path: str, scope: Message, receive: Receive, send: Send) -> None:
        refused = self.intake.metrics.refusal
        partition = scope_of(path)
        if partition is None:
            refused("path").inc()
            await _reply(send, Reply(404, "not /payloads/{model}/{release}/{version}"), close=True)
            return
        # uvicorn lowercases the names; the parser refused a head with two different Content-Lengths.
        # Only what the sink reads is decoded: the rest of KServe's headers (ce-time, ce-metadata, …)
        # would be most of the work of reading the head.
        event_headers: list[tuple[str, str]] = []
        length = authorization = b""
        for name, value in scope["headers"]:
            if name in _EVENT_HEADERS:
                event_headers.append((name.decode("latin-1"), value.decode("latin-1")))
            elif name == b"content-length":
                length = value
            elif name == b"authorization":
                authorization = value
        if not self._authorized(authorization.decode("latin-1")):
            refused("unauthorized").inc()
            challenge = [(b"www-authenticate", b"Bearer")]
            await _reply(send, Reply(401, "a bearer token is required"), challenge, close=True)
            return
        if not (length.isascii() and length.isdigit()):  # isdigit alone takes "²", which int() refuses
            refused("length").inc()
            await _reply(send, Reply(411, "Content-Length required"), close=True)
            return
        if int(length) > self.max_body_bytes:
            refused("too_large").inc()
            await _reply(send, Reply(413, f"body larger than {self.max_body_bytes} bytes"), close=True)
            return
        body = await _body(receive)
        if body is None:
            return  # the client went away
        reply = self.intake.receive(partition, event_headers, body)
        if reply.status >= 400:
            log.info(
                "refused an event for %s/%s: %d %s",
                partition.model,
                partition.release,
                reply.status,
                reply.text,
            )
        if reply.status == 200:
            # KServe's agent reads the status alone. An empty body goes out with the head in one write
            # (a body is a second write: measured at a fifth of the sink's CPU per event with
            # bench/payload_sink.py); what became of the event is told in a header instead.
            await _send(send, 200, b"", _TEXT, [(OUTCOME_HEADER, reply.text.encode())])
        else:
            await _reply(send, reply)

    def _authorized(self, authorization: str) -> bool:
        if self.token is None:
            return True
        scheme, _, presented = authorization.partition(" ")
        try:
            expected = self.token()
        except OSError as error:
            log.error("the sink's token cannot be read: %s", error)
            return False
        if not expected:
            log.error("the sink's token is empty: every event is refused")
            return False
        # Bytes: compare_digest refuses non-ASCII str. Its time depends on the lengths only.
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), expected.encode())


async def _body(receive: Receive) -> bytes | None:
    """The whole body (its length the parser holds to Content-Length), or None when the client left."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _reply(
    send: Send, reply: Reply, headers: list[tuple[bytes, bytes]] | None = None, *, close: bool = False
) -> None:
    # A refused body may be unread: the connection does not carry another request after it.
    extra = [*(headers or []), *([(b"connection", b"close")] if close else [])]
    await _send(send, reply.status, (reply.text + "\n").encode(), _TEXT, extra)


async def _send(
    send: Send,
    status: int,
    payload: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    head = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": payload})
