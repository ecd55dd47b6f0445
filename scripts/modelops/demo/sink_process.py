"""The payload sink in a process of its own on a loopback port, as `python -m modelops.payloads.sink`
runs in the cluster, and the rows it has written so far."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningSink:
    url: str  # http://127.0.0.1:<port>
    store: Path
    log: Path

    def local(self, logger_url: str) -> str:
        """An InferenceService's logger URL with the sink's Service replaced by this process: the path
        (model, release, version) is the rendered one."""
        parts = urlsplit(logger_url)
        here = urlsplit(self.url)
        return urlunsplit((here.scheme, here.netloc, parts.path, parts.query, ""))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2.0) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: Path, lines: int = 5) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


@contextlib.contextmanager
def running_sink(store: Path, *, log: Path, flush_interval_s: float = 1.0) -> Iterator[RunningSink]:
    """The sink writing under `store`, flushing every `flush_interval_s`. Like the cluster's, it takes
    events without a token (KServe's agent cannot send one); it listens on loopback only. On exit it
    gets SIGTERM and writes what it holds; a sink that did not exit cleanly is an error."""
    port = free_port()
    command = [sys.executable, "-m", "modelops.payloads.sink", "--store", str(store)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--allow-unauthenticated"]
    command += ["--flush-interval-s", str(flush_interval_s)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ))
    sink = RunningSink(f"http://127.0.0.1:{port}", store, log)
    stopped = False
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(sink.url):
            if process.poll() is not None:
                raise RuntimeError(f"the payload sink exited with {process.returncode}: {_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the payload sink not ready after {START_TIMEOUT_S:.0f} s: {_tail(log)}")
            time.sleep(0.1)
        yield sink
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=STOP_TIMEOUT_S)
        stopped = True
        if code != 0:
            raise RuntimeError(f"the payload sink stopped with {code}: {_tail(log)}")
    finally:
        if not stopped and process.poll() is None:
            process.kill()
            process.wait()


def written_rows(store: Path, *, model: str) -> dict[str, int]:
    """Rows written for `model` so far, by release (from each file's footer): what the monitor will
    find. Files the sink is still writing are hidden (a leading dot) until renamed whole."""
    import pyarrow.parquet as pq

    counts: dict[str, int] = {}
    for path in sorted((store / f"model={model}").glob("release=*/date=*/hour=*/*.parquet")):
        if path.name.startswith("."):
            continue
        release = path.parts[-4].removeprefix("release=")
        counts[release] = counts.get(release, 0) + pq.ParquetFile(path).metadata.num_rows
    return counts


def wait_for_rows(
    store: Path, *, model: str, expected: dict[str, int], timeout_s: float = 30.0
) -> dict[str, int]:
    """Rows by release once the sink has written at least `expected` (it flushes on a timer), or what
    it had written when `timeout_s` ran out."""
    deadline = time.monotonic() + timeout_s
    while True:
        written = written_rows(store, model=model)
        if all(written.get(r, 0) >= n for r, n in expected.items()) or time.monotonic() > deadline:
            return written
        time.sleep(0.2)
