"""`python -m modelops.bench.payload_sink`: logged request/response pairs per second through the real sink.

Every side is an HTTP server in its own process, pinned to one CPU, sent the same pre-encoded
events over loopback keep-alive connections by client processes pinned to the other CPUs:

- the sink: `python -m modelops.payloads.sink` (uvicorn, CloudEvents SDK parsing, V2 tensors to
  columns, the join, one parquet file per partition and flush);
- the obvious way: a handler that parses each event with the json module into a pandas frame and
  writes one parquet file per request once its response arrives (`--serve-obvious`, this module);
- two servers that read each event and answer 200 without looking at it (`--serve-null`, this module):
  the standard library's threading `http.server`, and uvicorn (httptools, uvloop) serving a bare ASGI
  app. They are the ceiling of each HTTP stack with this client: what is left for the sink's own work.

A side's time runs from the first event sent to its process's exit after SIGTERM, so the sink's
last flush is in it, and so is its CPU time (read from /proc when the first event is sent): pairs per
server CPU second is what one core of its own would take, while wall pairs/s on a loaded machine also
measures the scheduler's share (a thread per connection gets more of it than one event loop). Each
writing side's rows are read back and counted; a side that lost any, or a side that answered anything
but 200, fails the run.
"""

from __future__ import annotations

import argparse
import http.server
import json
import multiprocessing
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

NUMERIC_COLUMNS = 15
TEXT_COLUMNS = 5  # 20 in all, like the demo model's inputs one-hot-free
_TEXT_VALUES = ("little", "moderate", "rich", "quite rich", "not_known")
_REQUEST = "org.kubeflow.serving.inference.request"
NULL_STACKS = ("stdlib", "uvicorn")
_RESPONSE = "org.kubeflow.serving.inference.response"


def _v2_pair(rng: random.Random, rows: int) -> tuple[bytes, bytes]:
    inputs: list[dict[str, Any]] = [
        {
            "name": f"x{i}",
            "shape": [rows, 1],
            "datatype": "FP64",
            "data": [rng.gauss(0, 1) for _ in range(rows)],
        }
        for i in range(NUMERIC_COLUMNS)
    ]
    inputs += [
        {"name": f"s{i}", "shape": [rows, 1], "datatype": "BYTES", "data": rng.choices(_TEXT_VALUES, k=rows)}
        for i in range(TEXT_COLUMNS)
    ]
    probabilities = [rng.random() for _ in range(rows)]
    outputs = [
        {
            "name": "predict",
            "shape": [rows, 1],
            "datatype": "INT64",
            "data": [int(p > 0.5) for p in probabilities],
        },
        {
            "name": "predict_proba",
            "shape": [rows, 2],
            "datatype": "FP64",
            "data": [v for p in probabilities for v in (1 - p, p)],
        },
    ]
    return json.dumps({"inputs": inputs}).encode(), json.dumps({"outputs": outputs}).encode()


def _http_event(event_type: str, event_id: str, body: bytes) -> bytes:
    """One POST as KServe's agent sends it (sdk-go, binary mode; see modelops.payloads.events)."""
    lines = [
        "POST /payloads/credit-risk/stable/3 HTTP/1.1",
        "Host: payload-sink",
        "User-Agent: Go-http-client/1.1",
        f"Content-Length: {len(body)}",
        "Ce-Component: predictor",
        "Ce-Endpoint: ",
        f"Ce-Id: {event_id}",
        "Ce-Inferenceservicename: credit-risk",
        "Ce-Metadata: {}",
        "Ce-Namespace: models-prod",
        "Ce-Source: credit-risk-predictor-6d4f7c9b8-x2x9q",
        "Ce-Specversion: 1.0",
        "Ce-Time: 2026-12-07T10:00:00.000000Z",
        f"Ce-Type: {event_type}",
        "Content-Type: application/json",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _events(pairs: int, rows: int, seed: int) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    bodies = [_v2_pair(rng, rows) for _ in range(min(pairs, 500))]  # distinct bodies, reused round-robin
    return [
        (
            _http_event(_REQUEST, f"bench-{n}", bodies[n % 500][0]),
            _http_event(_RESPONSE, f"bench-{n}", bodies[n % 500][1]),
        )
        for n in range(pairs)
    ]


def _take_response(buffer: bytearray) -> int | None:
    """The status of the response at the start of `buffer`, removed from it; None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1")
    length = next(
        int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length")
    )
    if len(buffer) < end + 4 + length:
        return None
    del buffer[: end + 4 + length]
    return int(head.split(" ", 2)[1])


@dataclass
class _Connection:
    socket: socket.socket
    messages: list[bytes]  # request, response, request, ... in the order KServe's agent sends them
    sent: int = 0
    buffer: bytearray = field(default_factory=bytearray)


def _send_all(port: int, events: list[tuple[bytes, bytes]], *, connections: int, clients: int) -> int:
    """Send every pair, request then response, over `connections` keep-alive connections from `clients`
    forked processes; returns how many replies were not 200.

    Like the agent's workers, each connection waits for a reply before it sends the next event. Each
    process multiplexes its connections (epoll): client threads would spend the client's CPU handing
    the GIL around, and a fast server would then measure the client.
    """
    context = multiprocessing.get_context("fork")  # the children inherit `events`, nothing is pickled
    results = context.SimpleQueue()
    shards = [list(range(connections))[index::clients] for index in range(clients)]
    processes = [
        context.Process(target=lambda shard=shard: results.put(_send_share(port, events, shard, connections)))
        for shard in shards
        if shard
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    if any(process.exitcode != 0 for process in processes):
        raise RuntimeError("a client process failed: see its traceback above")
    return sum(results.get() for _ in processes)


def _send_share(port: int, events: list[tuple[bytes, bytes]], shard: list[int], connections: int) -> int:
    failures = 0
    with selectors.DefaultSelector() as selector:
        for index in shard:
            messages = [message for pair in events[index::connections] for message in pair]
            if not messages:
                continue
            connection = socket.create_connection(("127.0.0.1", port), timeout=30)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            state = _Connection(connection, messages)
            selector.register(connection, selectors.EVENT_READ, state)
            connection.sendall(messages[0])
        while selector.get_map():
            ready = selector.select(timeout=30)
            if not ready:
                raise TimeoutError("the server did not answer within 30 s")
            for key, _ in ready:
                state = key.data
                chunk = state.socket.recv(65536)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                state.buffer.extend(chunk)
                status = _take_response(state.buffer)
                if status is None:
                    continue
                failures += status != 200
                state.sent += 1
                if state.sent < len(state.messages):
                    state.socket.sendall(state.messages[state.sent])
                else:
                    selector.unregister(state.socket)
                    state.socket.close()
    return failures


@dataclass(frozen=True)
class SideResult:
    side: str
    pairs: int
    wall_s: float
    cpu_s: float  # the server's, from the first event sent to its exit: not its imports and start
    rows_written: int
    files: int
    failures: int

    @property
    def pairs_per_s(self) -> float:
        return self.pairs / self.wall_s

    @property
    def pairs_per_cpu_s(self) -> float:
        """What one core of its own would take: under load, wall time measures the scheduler's share too."""
        return self.pairs / self.cpu_s


def _run_side(
    side: str,
    command: list[str],
    *,
    port: int,
    store: Path,
    events: list[tuple[bytes, bytes]],
    connections: int,
    clients: int,
    cpu: int | None,
) -> SideResult:
    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    log = store.parent / f"{side}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, preexec_fn=pin)
    _wait_ready(port, process, log)
    started, cpu_before = time.perf_counter(), _cpu_s(process.pid)
    failures = _send_all(port, events, connections=connections, clients=clients)
    process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - started
    cpu_s = usage.ru_utime + usage.ru_stime - cpu_before
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{side} exited {process.returncode}: {log.read_text()[-2000:]}")
    files = [p for p in store.rglob("*.parquet") if not p.name.startswith(".")]
    rows = sum(pq.read_metadata(p).num_rows for p in files)
    return SideResult(side, len(events), wall_s, cpu_s, rows, len(files), failures)


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds a running process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("the server did not start within 60 s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _frame(tensors: list[dict[str, Any]], *, prefix: str) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for tensor in tensors:
        width = tensor["shape"][1] if len(tensor["shape"]) == 2 else 1
        for j in range(width):
            name = prefix + tensor["name"] + (f".{j}" if width > 1 else "")
            columns[name] = tensor["data"][j::width]
    return pd.DataFrame(columns)


class _ObviousHandler(http.server.BaseHTTPRequestHandler):
    """The obvious sink: json.loads, a pandas frame per event, one parquet file per request."""

    protocol_version = "HTTP/1.1"
    pending: ClassVar[dict[str, pd.DataFrame]] = {}
    lock: ClassVar[threading.Lock] = threading.Lock()
    store: ClassVar[Path] = Path()

    def do_GET(self) -> None:
        self._reply(200)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        event_id = self.headers["Ce-Id"]
        if self.headers["Ce-Type"] == _REQUEST:
            frame = _frame(body["inputs"], prefix="")
        else:
            frame = _frame(body["outputs"], prefix="_output.")
        with self.lock:
            other = self.pending.pop(event_id, None)
            if other is None:
                self.pending[event_id] = frame
        if other is not None:
            joined = pd.concat([frame, other], axis=1)
            joined.insert(0, "_request_id", event_id)
            joined.to_parquet(self.store / f"{event_id}.parquet")
        self._reply(200)

    def _reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _NullHandler(http.server.BaseHTTPRequestHandler):
    """Reads each request's body and answers 200: the stdlib HTTP layer alone."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as the sink's own handler did: no delayed-ACK wait per reply

    def do_GET(self) -> None:
        self._reply()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._reply()

    def _reply(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def _null_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app that reads each request's body and answers 200: uvicorn's HTTP layer alone."""
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False) and message["type"] == "http.request"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def _serve_null(stack: str, port: int) -> int:
    if stack == "uvicorn":
        import uvicorn

        # uvicorn raises the SIGTERM it caught again once it has stopped: here that is a clean exit.
        signal.signal(signal.SIGTERM, lambda *_: None)
        uvicorn.run(
            _null_app,
            host="127.0.0.1",
            port=port,
            http="httptools",
            loop="uvloop",
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
        return 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _NullHandler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


def _serve_obvious(store: Path, port: int) -> int:
    _ObviousHandler.store = store
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _ObviousHandler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.payload_sink", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--pairs", type=int, default=20_000, help="pairs sent to the sink")
    parser.add_argument("--obvious-pairs", type=int, default=2_000, help="pairs sent to the obvious way")
    parser.add_argument("--rows-per-request", type=int, default=1, help="rows per request (online: 1)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--clients", type=int, default=4, help="client processes sharing the connections")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--null-pairs", type=int, default=20_000, help="pairs sent to each do-nothing server")
    parser.add_argument("--serve-obvious", type=Path, metavar="STORE", help=argparse.SUPPRESS)
    parser.add_argument("--serve-null", choices=NULL_STACKS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.serve_obvious is not None:
        return _serve_obvious(args.serve_obvious, args.port)
    if args.serve_null is not None:
        return _serve_null(args.serve_null, args.port)
    console = Console() if Console().is_terminal else Console(width=160)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[-1]
    if len(cpus) > 1:
        os.sched_setaffinity(0, set(cpus[:-1]))  # the client stays off the server's CPU
    console.rule("payload sink benchmark")
    console.print(
        f"{args.connections} keep-alive connections send request/response pairs of {args.rows_per_request} "
        f"row(s), {NUMERIC_COLUMNS} numeric + {TEXT_COLUMNS} text inputs and 3 output columns, each event "
        f"with KServe's headers. Servers pinned to CPU {server_cpu}, the client to {cpus[:-1] or cpus}; "
        f"1-minute load average {os.getloadavg()[0]:.2f}."
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="modelops-bench-sink-") as temporary:
        folder = Path(temporary)
        sides = [
            ("sink", args.pairs),
            *((f"null-{stack}", args.null_pairs) for stack in NULL_STACKS),
            ("obvious", args.obvious_pairs),
        ]
        for side, pairs in sides:
            store, port = folder / side / "store", _free_port()
            store.mkdir(parents=True)
            this = [sys.executable, "-m", "modelops.bench.payload_sink", "--port", str(port)]
            if side == "sink":
                command = [sys.executable, "-m", "modelops.payloads.sink", "--store", str(store)]
                command += ["--host", "127.0.0.1", "--port", str(port), "--allow-unauthenticated"]
            elif side == "obvious":
                command = [*this, "--serve-obvious", str(store)]
            else:
                command = [*this, "--serve-null", side.removeprefix("null-")]
            events = _events(pairs, args.rows_per_request, args.seed)
            console.print(f"[dim]running the {side} side ({pairs:,} pairs)...[/]")
            results.append(
                _run_side(
                    side,
                    command,
                    port=port,
                    store=store,
                    events=events,
                    connections=args.connections,
                    clients=args.clients,
                    cpu=server_cpu,
                )
            )
    table = Table(
        "side",
        "pairs",
        "wall s",
        "pairs/s",
        "server CPU s",
        "pairs per CPU s",
        "rows written",
        "files",
        "non-200",
    )
    for result in results:
        table.add_row(
            result.side,
            f"{result.pairs:,}",
            f"{result.wall_s:.2f}",
            f"{result.pairs_per_s:,.0f}",
            f"{result.cpu_s:.2f}",
            f"{result.pairs_per_cpu_s:,.0f}",
            f"{result.rows_written:,}",
            f"{result.files:,}",
            str(result.failures),
        )
    console.print(table)
    by_side = {result.side: result for result in results}
    sink, obvious = by_side["sink"], by_side["obvious"]
    nulls = [by_side[f"null-{stack}"] for stack in NULL_STACKS]
    for measure, per in (("pairs/s", "pairs_per_s"), ("pairs per server CPU second", "pairs_per_cpu_s")):
        ceilings = ", ".join(
            f"{null.side.removeprefix('null-')} {getattr(null, per):,.0f} "
            f"(the sink at {getattr(sink, per) / getattr(null, per):.2f}x)"
            for null in nulls
        )
        console.print(
            f"{measure}: sink {getattr(sink, per):,.0f} (target 2,000), obvious way "
            f"{getattr(obvious, per):,.0f} ([bold]{getattr(sink, per) / getattr(obvious, per):.1f}x[/]); "
            f"servers that do nothing: {ceilings}"
        )
    console.print(f"1-minute load average at the end: {os.getloadavg()[0]:.2f}")
    lost = [
        r.side
        for r in results
        if r.failures
        or r.rows_written != (0 if r.side.startswith("null-") else r.pairs * args.rows_per_request)
    ]
    if lost:
        console.print(
            f"[red]exit 1[/]: {', '.join(lost)} did not answer 200 to, or write, every row it was sent"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
