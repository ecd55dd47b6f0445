"""The payload sink's HTTP server: `python -m modelops.payloads.sink --store URI --port N`.

    POST /payloads/{model}/{release}/{version}   one KServe inference-logger event (events.py)
    GET  /healthz                                200 while serving, 503 once stopping
    GET  /metrics                                Prometheus metrics (metrics.py)

The path comes from the InferenceService's `logger.url`, which gitops/ renders from reviewed
manifests; each part is still checked (a model a Kubernetes name, a release one of layout.RELEASES,
a version digits) and is all that names the partition folder: nothing in an event's headers or body
chooses where rows are written.

Callers. KServe's agent cannot send an Authorization header (events.py), so in the cluster the
NetworkPolicy that admits only model-serving pods is the gate, and the sink runs with
`--allow-unauthenticated`, which it refuses to assume. With `--token-file` every POST must carry
`Authorization: Bearer <token>` (the file is read at each request, so a rotated Secret is picked up):
for any other sender (a replay job, a future agent that can send headers), or a sink reachable
beyond the models' pods. /healthz and /metrics never need it; they tell nothing of the payloads.

Bounds: a body over --max-body-bytes is a 413 and is not read; Content-Length is required (411);
each read of a request waits at most READ_TIMEOUT_S; at most MAX_CONNECTIONS connections are served
at once (more are closed at once); rows and columns per event and the rows held (intake.Limits),
and the events waiting for their pair (pairing.py) are bounded.

SIGTERM: /healthz turns 503, the sink keeps serving for up to --drain-s while events wait for their
pair (a response follows its request within milliseconds), then stops taking connections, finishes
the requests in flight, writes every joined row it holds and exits 0 (1 if the store refused them).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import http.server
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from modelops.payloads.intake import Intake, Limits, Reply
from modelops.payloads.layout import RELEASES, is_model_name
from modelops.payloads.pairing import MAX_PENDING, Pairing, Scope
from modelops.payloads.store import Store, store_location

log = logging.getLogger("payload-sink")

MAX_BODY_BYTES = 4 * 1024 * 1024  # a V2 request of 10,000 rows of 20 numbers is about 2 MiB
READ_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 256
DRAIN_S = 5.0
TICK_S = 0.5
_PATH = re.compile(r"/payloads/([^/]+)/([^/]+)/([^/]+)")
_VERSION = re.compile(r"[0-9]{1,9}")


def scope_of(path: str) -> Scope | None:
    """The partition a POST path names, or None when it is not /payloads/{model}/{release}/{version}."""
    match = _PATH.fullmatch(path)
    if match is None:
        return None
    model, release, version = match.groups()
    if not is_model_name(model) or release not in RELEASES or _VERSION.fullmatch(version) is None:
        return None
    return Scope(model, release, version)


class SinkServer(http.server.ThreadingHTTPServer):
    # Request threads are joined when the server closes: a stopping sink answers what it took on.
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        intake: Intake,
        *,
        token: Callable[[], str] | None,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        super().__init__(address, _Handler)
        self.intake = intake
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("closed a connection from %s: %s already open", client_address[0], MAX_CONNECTIONS)
            self.intake.metrics.refusal("connections").inc()
            self.shutdown_request(request)
            return
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
            self._slots.release()

    def close_idle_connections(self) -> None:
        """Wake keep-alive connections waiting for their next request, so closing does not wait on them.

        A handler between requests is blocked reading; shutting down the read side ends that read. A
        handler answering a request has read its body already, and still writes its reply.
        """
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: SinkServer
    protocol_version = "HTTP/1.1"  # keep-alive: the agent's Go client reuses its connections
    server_version = "modelops-payload-sink"
    sys_version = ""
    timeout = READ_TIMEOUT_S
    # A reply's head and body go out in two writes; with Nagle's algorithm the body would wait for
    # the client's delayed ACK of the head (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if self.path == "/healthz":
            stopping = self.server.stopping.is_set()
            self._reply(Reply(503, "stopping") if stopping else Reply(200, "ok"))
        elif self.path == "/metrics":
            payload = generate_latest(self.server.intake.metrics.registry)
            self._send(200, payload, CONTENT_TYPE_LATEST)
        else:
            self._reply(Reply(404, "not found"))

    def do_POST(self) -> None:
        server = self.server
        refused = server.intake.metrics.refusal
        scope = scope_of(self.path)
        if scope is None:
            refused("path").inc()
            self._reply(Reply(404, "not /payloads/{model}/{release}/{version}"), close=True)
            return
        if not self._authorized():
            refused("unauthorized").inc()
            self._reply(Reply(401, "a bearer token is required"), {"WWW-Authenticate": "Bearer"}, close=True)
            return
        length = self.headers.get("Content-Length", "")
        if not (length.isascii() and length.isdigit()):  # isdigit alone takes "²", which int() refuses
            refused("length").inc()
            self._reply(Reply(411, "Content-Length required"), close=True)
            return
        if int(length) > server.max_body_bytes:
            refused("too_large").inc()
            self._reply(Reply(413, f"body larger than {server.max_body_bytes} bytes"), close=True)
            return
        body = self.rfile.read(int(length))
        if len(body) != int(length):
            self.close_connection = True  # the client went away, or the sink is stopping
            return
        reply = server.intake.receive(scope, self.headers.items(), body)
        if reply.status >= 400:
            log.info(
                "refused an event for %s/%s: %d %s", scope.model, scope.release, reply.status, reply.text
            )
        self._reply(reply)

    def _authorized(self) -> bool:
        if self.server.token is None:
            return True
        scheme, _, presented = self.headers.get("Authorization", "").partition(" ")
        try:
            expected = self.server.token()
        except OSError as error:
            log.error("the sink's token cannot be read: %s", error)
            return False
        if not expected:
            log.error("the sink's token is empty: every event is refused")
            return False
        # Bytes: compare_digest refuses non-ASCII str. Its time depends on the lengths only.
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), expected.encode())

    def _reply(self, reply: Reply, headers: Mapping[str, str] | None = None, *, close: bool = False) -> None:
        # A refused body may be unread: the connection cannot carry another request after it.
        if close:
            self.close_connection = True
        self._send(
            reply.status, (reply.text + "\n").encode(), "text/plain; charset=utf-8", headers, close=close
        )

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        *,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def run(server: SinkServer, *, drain_s: float) -> int:
    """Serve until SIGTERM or SIGINT, then drain, stop and write everything (module docstring)."""
    intake = server.intake
    stop = threading.Event()

    def flusher() -> None:
        while not stop.wait(TICK_S):
            # One failed flush must not end the thread: nothing would be written again until SIGTERM.
            try:
                intake.expire()
                if intake.due():
                    intake.flush()
            except Exception:
                log.exception("flush failed; retrying at the next tick")

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        server.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serving = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    flushing = threading.Thread(target=flusher, name="flush", daemon=True)
    serving.start()
    flushing.start()
    while not server.stopping.wait(TICK_S):
        pass
    deadline = time.monotonic() + drain_s
    while intake.pairing.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    server.shutdown()
    server.close_idle_connections()
    server.server_close()  # joins the request threads
    stop.set()
    flushing.join()
    held = intake.pairing.pending
    if held:
        intake.metrics.evicted.inc(held)
        log.warning("%d events had no pair by the end of the drain and are not written", held)
    for attempt in range(3):
        if intake.flush():
            log.info("stopped; every joined row is written")
            return 0
        time.sleep(1.0 * (attempt + 1))
    log.error("stopped with %d joined rows the store did not take", intake.batches.rows)
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.payloads.sink", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--store", required=True, help="a local folder, file:///folder or s3://bucket/prefix")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    auth = parser.add_mutually_exclusive_group(required=True)
    auth.add_argument("--token-file", type=Path, help="require this bearer token on every POST")
    auth.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="accept events without a token: only where a NetworkPolicy admits the model pods alone",
    )
    limits = Limits()
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    parser.add_argument("--max-rows-per-event", type=int, default=limits.max_rows_per_event)
    parser.add_argument("--flush-rows", type=int, default=limits.flush_rows)
    parser.add_argument("--flush-interval-s", type=float, default=limits.flush_interval_s)
    parser.add_argument("--max-pending", type=int, default=MAX_PENDING, help="unmatched events held")
    parser.add_argument("--drain-s", type=float, default=DRAIN_S)
    return parser


def _token_source(path: Path) -> Callable[[], str]:
    def read() -> str:
        return path.read_text(encoding="utf-8").strip()

    return read


def main(argv: list[str] | None = None, *, env: Mapping[str, str] = os.environ) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    problems = []
    if not 0 <= args.port < 65536:
        problems.append(f"--port {args.port} is not a port")
    for option in ("max_body_bytes", "max_rows_per_event", "flush_rows", "max_pending"):
        if getattr(args, option) < 1:
            problems.append(f"--{option.replace('_', '-')} must be at least 1")
    token = None
    if args.token_file is not None:
        token = _token_source(args.token_file)
        try:
            if not token():
                problems.append(f"--token-file {args.token_file} is empty")
        except OSError as error:
            problems.append(f"--token-file cannot be read: {error.strerror or error}")
    try:
        location = store_location(args.store, env=env)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        log.error("not started: %s", "; ".join(problems))
        return 2
    try:
        store = Store(location)
    except OSError as error:
        log.error("not started: store %s cannot be opened: %s", args.store, error)
        return 2
    limits = Limits(
        max_rows_per_event=args.max_rows_per_event,
        flush_rows=args.flush_rows,
        flush_interval_s=args.flush_interval_s,
        max_buffered_rows=max(Limits().max_buffered_rows, 4 * args.flush_rows),
    )
    intake = Intake(store, limits=limits, pairing=Pairing(max_pending=args.max_pending))
    server = SinkServer((args.host, args.port), intake, token=token, max_body_bytes=args.max_body_bytes)
    if token is None:
        log.warning("accepting events without a token: the NetworkPolicy must admit the model pods alone")
    log.info("storing payloads in %s, listening on %s:%d", args.store, args.host, server.server_port)
    return run(server, drain_s=args.drain_s)


if __name__ == "__main__":
    sys.exit(main())
