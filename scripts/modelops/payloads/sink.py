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

Server: uvicorn with httptools on uvloop, one event loop serving the routes of app.py, which hands
each event to intake.Intake on the loop; a thread writes the joined rows (TICK_S). Doing nothing, the
stdlib's threaded http.server took about 2.5 times uvicorn's CPU per request (bench/payload_sink.py).

Bounds: a body over --max-body-bytes is a 413 and is not read; Content-Length is required (411);
a connection that sends nothing for --read-timeout-s is closed, in a request or between two; a
request head over MAX_HEAD_BYTES is a 431; at most --max-connections are served at once (more are
closed at once; connections.py); a request line or header the HTTP parser cannot read is a one-line
400; rows and columns per event and the rows held (intake.Limits), and the events waiting for their
pair (pairing.py) are bounded.

SIGTERM: /healthz turns 503, the sink keeps serving for up to --drain-s while events wait for their
pair (a response follows its request within milliseconds), then stops taking connections, finishes
the requests in flight (waiting at most --read-timeout-s for their bodies), writes every joined row it
holds and exits 0 (1 if the store refused them, or the HTTP server had stopped by itself).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

from modelops.payloads.app import SinkApp, scope_of
from modelops.payloads.batches import warm_up
from modelops.payloads.connections import ConnectionLimits, bounded_protocol
from modelops.payloads.intake import Intake, Limits
from modelops.payloads.pairing import MAX_PENDING, Pairing
from modelops.payloads.store import Store, store_location

__all__ = ["main", "scope_of"]

log = logging.getLogger("payload-sink")

MAX_BODY_BYTES = 4 * 1024 * 1024  # a V2 request of 10,000 rows of 20 numbers is about 2 MiB
READ_TIMEOUT_S = 10  # whole seconds: uvicorn's keep-alive timeout is an int
MAX_CONNECTIONS = 256
MAX_HEAD_BYTES = 64 * 1024
BACKLOG = 128
DRAIN_S = 5.0
TICK_S = 0.5


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts: a port taken is a one-line error at start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=BACKLOG)


def server_for(
    app: SinkApp, *, max_connections: int = MAX_CONNECTIONS, read_timeout_s: int = READ_TIMEOUT_S
) -> uvicorn.Server:
    limits = ConnectionLimits(
        max_connections=max_connections, read_timeout_s=read_timeout_s, max_head_bytes=MAX_HEAD_BYTES
    )
    refusal = app.intake.metrics.refusal
    config = uvicorn.Config(
        app,
        http=bounded_protocol(limits, refused=lambda reason: refusal(reason).inc()),
        loop="uvloop",
        ws="none",
        lifespan="off",
        interface="asgi3",
        log_config=None,  # the sink's logging.basicConfig stands
        access_log=False,
        proxy_headers=False,  # the client's address is not used, and no proxy stands in front
        server_header=False,
        timeout_keep_alive=read_timeout_s,
        timeout_graceful_shutdown=read_timeout_s,
        backlog=BACKLOG,
    )
    return uvicorn.Server(config)


def run(server: uvicorn.Server, app: SinkApp, listener: socket.socket, *, drain_s: float) -> int:
    """Serve until SIGTERM or SIGINT, then drain, stop and write everything (module docstring).

    The server's loop runs in a thread of its own, without uvicorn's signal handlers (it installs
    them only in the main thread): uvicorn stops at once on SIGTERM, the sink drains first.
    """
    intake = app.intake
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
        app.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serving = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="serve", daemon=True)
    flushing = threading.Thread(target=flusher, name="flush", daemon=True)
    serving.start()
    flushing.start()
    crashed = False
    while not app.stopping.wait(TICK_S):
        if not serving.is_alive():
            log.error("the HTTP server stopped by itself; writing what the sink holds")
            crashed = True
            app.stopping.set()
    deadline = time.monotonic() + drain_s
    while intake.pairing.pending and serving.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    server.should_exit = True  # stops taking connections, finishes the requests in flight
    serving.join()
    stop.set()
    flushing.join()
    held = intake.pairing.pending
    if held:
        intake.metrics.evicted.inc(held)
        log.warning("%d events had no pair by the end of the drain and are not written", held)
    for attempt in range(3):
        if intake.flush():
            log.info("stopped; every joined row is written")
            return 1 if crashed else 0
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
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS, help="served at once")
    parser.add_argument(
        "--read-timeout-s", type=int, default=READ_TIMEOUT_S, help="a silent connection is closed after"
    )
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
    for option in (
        "max_body_bytes",
        "max_rows_per_event",
        "flush_rows",
        "max_pending",
        "max_connections",
        "read_timeout_s",
    ):
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
    warm_up()
    try:
        listener = listen(args.host, args.port)
    except OSError as error:
        log.error("not started: cannot listen on %s:%d: %s", args.host, args.port, error.strerror or error)
        return 2
    app = SinkApp(intake, token=token, max_body_bytes=args.max_body_bytes, stopping=threading.Event())
    server = server_for(app, max_connections=args.max_connections, read_timeout_s=args.read_timeout_s)
    if token is None:
        log.warning("accepting events without a token: the NetworkPolicy must admit the model pods alone")
    port = listener.getsockname()[1]
    log.info("storing payloads in %s, listening on %s:%d", args.store, args.host, port)
    return run(server, app, listener, drain_s=args.drain_s)


if __name__ == "__main__":
    sys.exit(main())
