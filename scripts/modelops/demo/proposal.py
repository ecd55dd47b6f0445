"""What the platform proposes when drift alerts fire, asked of the platform's own dispatch relay.

The relay (infra/modelops_infra/runtime/dispatch_relay.py) is the one place that decides which
firing alerts become which `repository_dispatch` events. The demo runs that file as its pod runs
it, with the standard library alone, on a loopback port, and hands it the notification Alertmanager
would send for the firing alerts, with the relay's bearer token. GitHub's API is a recorder on
loopback that keeps what the relay sent and answers 204, as GitHub does: nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from modelops.demo.sink_process import free_port

RELAY_SCRIPT = Path("infra/modelops_infra/runtime/dispatch_relay.py")
REPOSITORY = "local/modelops-demo"  # what the recorder stands for; no repository is reached
START_TIMEOUT_S = 15.0
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FiringAlert:
    """One alert as Prometheus fires it: its rule's name and labels, and the series' labels."""

    labels: Mapping[str, str]

    def as_notified(self, *, started: datetime) -> dict[str, Any]:
        """The alert in Alertmanager's webhook body (version 4)."""
        labels = dict(self.labels)
        return {
            "status": "firing",
            "labels": labels,
            "annotations": {},
            "startsAt": started.isoformat().replace("+00:00", "Z"),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16],
        }


def notification(
    alerts: Sequence[FiringAlert], *, group_by: Sequence[str], started: datetime
) -> dict[str, Any]:
    """The webhook body Alertmanager sends for one group of firing alerts."""
    notified = [alert.as_notified(started=started) for alert in alerts]
    common = dict(alerts[0].labels) if alerts else {}
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    group = {k: common[k] for k in group_by if k in common}
    pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(group.items()))
    return {
        "receiver": "github-dispatch",
        "status": "firing",
        "alerts": notified,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "",
        "version": "4",
        "groupKey": f"{{}}:{{{pairs}}}",
        "truncatedAlerts": 0,
    }


class _Recorder:
    """GitHub's dispatches endpoint on loopback: keeps each body, answers 204."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length", "0") or 0), 64 * 1024)
                body = json.loads(self.rfile.read(length) or b"null")
                with recorder._lock:
                    recorder.received.append(body)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextlib.contextmanager
    def serving(self) -> Iterator[_Recorder]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)


def _post(url: str, body: bytes, *, token: str) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode(errors="replace")


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"the relay exited with {process.returncode}: {log.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2.0) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the relay not ready after {START_TIMEOUT_S:.0f} s")
        time.sleep(0.1)


def ask_relay(
    body: Mapping[str, Any], *, root: Path, environment: str, models: Sequence[str], workdir: Path
) -> list[dict[str, Any]]:
    """The dispatches the platform's relay sends for one Alertmanager notification `body`: the relay
    runs as in its pod (`python -I -S dispatch_relay.py`), and stops (SIGTERM) before this returns."""
    workdir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    (workdir / "relay-token").write_text(token + "\n")
    (workdir / "github-token").write_text("demo-token-never-sent-beyond-loopback\n")
    (workdir / "models").write_text("".join(f"{model}\n" for model in models))
    port = free_port()
    log = workdir / "relay.log"
    with _Recorder().serving() as github:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "MODELOPS_ENVIRONMENT": environment,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_TOKEN_FILE": str(workdir / "github-token"),
            "GITHUB_API_URL": github.url,
            "RELAY_AUTH_TOKEN_FILE": str(workdir / "relay-token"),
            "RELAY_MODELS_FILE": str(workdir / "models"),
            "RELAY_HOST": "127.0.0.1",
            "RELAY_PORT": str(port),
        }
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(root / RELAY_SCRIPT)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, process, log)
            status, text = _post(f"{url}/alerts", json.dumps(body).encode(), token=token)
            if status != 200:
                raise RuntimeError(f"the relay answered {status}: {text.strip()}")
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=TIMEOUT_S + 10)
        return list(github.received)
