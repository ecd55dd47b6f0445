"""Stand-ins for GitHub's API and for the pager, and the real relay run as the pod runs it, on
loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from modelops_infra.runtime import dispatch_relay
from tests.tools import free_port, wait_ready

REPOSITORY = "example-org/modelops-platform"
ENVIRONMENT = "prod"
TOKEN = "github_pat_test-token"  # what the relay presents to GitHub
RELAY_TOKEN = "relay-bearer-test-token"  # what Alertmanager presents to the relay
# The models of the gitops tree the relay may name; three, so that a notification can ask for more
# dispatches (two events each) than the relay sends for one notification.
MODELS = ("credit-risk", "fraud-score", "churn")


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any


@dataclass
class StandInGitHub:
    """Records every request; answers with the next of `answers`, then with `status`, after `delay_s`."""

    url: str = ""
    status: int = 204
    delay_s: float = 0.0
    answers: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.status, self.answers, self.headers, self.received = 204, [], {}, []
            self.delay_s = 0.0

    def dispatched(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.received]

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.05)
        return self.dispatched()


def _stand_in_handler(github: StandInGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with github.lock:
                github.received.append(
                    Received(
                        "POST",
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw else None,
                    )
                )
                status = github.answers.pop(0) if github.answers else github.status
                extra = dict(github.headers)
                delay_s = github.delay_s
            time.sleep(delay_s)
            body = b"" if status == 204 else b'{"message": "stand-in says no"}'
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _serve() -> Iterator[StandInGitHub]:
    recorder = StandInGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _stand_in_handler(recorder))
    recorder.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def stand_in() -> Iterator[StandInGitHub]:
    yield from _serve()


@pytest.fixture()
def github(stand_in: StandInGitHub) -> StandInGitHub:
    stand_in.reset()
    return stand_in


@pytest.fixture(scope="session")
def pager_stand_in() -> Iterator[StandInGitHub]:
    """Where pages go in the tests: PagerDuty's Events API or a Slack webhook would answer 2xx too."""
    yield from _serve()


@pytest.fixture()
def pager(pager_stand_in: StandInGitHub) -> StandInGitHub:
    pager_stand_in.reset()
    return pager_stand_in


@dataclass(frozen=True)
class RelayFiles:
    """The files the pod mounts: GitHub's token, the token Alertmanager presents, the model list."""

    github_token: Path
    relay_token: Path
    models: Path

    @classmethod
    def write(cls, folder: Path) -> RelayFiles:
        files = cls(folder / "github-token", folder / "relay-token", folder / "models")
        files.github_token.write_text(TOKEN + "\n")
        files.relay_token.write_text(RELAY_TOKEN + "\n")
        files.models.write_text("".join(f"{model}\n" for model in MODELS))
        return files


def relay_env(github_url: str, files: RelayFiles, port: int) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "MODELOPS_ENVIRONMENT": ENVIRONMENT,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN_FILE": str(files.github_token),
        "GITHUB_API_URL": github_url,
        "RELAY_AUTH_TOKEN_FILE": str(files.relay_token),
        "RELAY_MODELS_FILE": str(files.models),
        "RELAY_HOST": "127.0.0.1",
        "RELAY_PORT": str(port),
    }


def start_relay(env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    """The relay file as the pod runs it; -I -S: no site-packages, so only the standard library."""
    with log_file.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(Path(dispatch_relay.__file__))],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    wait_ready(f"{url}/healthz", process, what="the relay", timeout_s=timeout_s)


@dataclass(frozen=True)
class RunningRelay:
    url: str
    files: RelayFiles
    log_file: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


@pytest.fixture()
def relay(stand_in: StandInGitHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRelay]:
    """A relay of its own for each test: what one test dispatched, the next must not find remembered."""
    folder = tmp_path_factory.mktemp("relay")
    files = RelayFiles.write(folder)
    port = free_port()
    log_file = folder / "relay.log"
    process = start_relay(relay_env(stand_in.url, files, port), log_file)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield RunningRelay(url, files, log_file, process)
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM, as Kubernetes stops the pod
        assert process.wait(timeout=10) == 0, log_file.read_text()


def post(
    url: str,
    body: bytes,
    *,
    token: str | None = RELAY_TOKEN,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST as Alertmanager does: with the relay's bearer token unless `token` is None."""
    sent = {"Content-Type": content_type, **(headers or {})}
    if token is not None:
        sent.setdefault("Authorization", f"Bearer {token}")
    request = urllib.request.Request(url, data=body, method="POST", headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
