"""The Pushgateway as the platform runs it, on loopback: every path behind the push login."""

from __future__ import annotations

import base64
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from modelops_infra.manifests.model_monitor import PUSH_USERNAME
from modelops_infra.manifests.model_monitor import web_config as platform_web_config
from tests.tools import free_port, require_command

# The login the platform's Pushgateway requires (infra writes its bcrypt hash into the web config from
# a generated password); this hash is of PUSH_PASSWORD, made once with libxcrypt's bcrypt, cost 10.
PUSH_USER, PUSH_PASSWORD = PUSH_USERNAME, "push-secret-for-tests"
PUSH_BCRYPT = "$2b$10$3dMt66aqYqXPb/4Qu8/5BuI171UTKZioNEewS75RpbzVHAUEGyZV6"


@contextmanager
def pushgateway(workdir: Path) -> Iterator[str]:
    """The Pushgateway as the platform runs it: every path behind the push login.

    Its readiness is its own log line saying it listens on our port: other test runs on this machine
    start Pushgateways too, and a free port can be taken between the pick and the bind.
    """
    binary = require_command("prometheus-pushgateway")
    # Debian's build persists to /var/lib/prometheus/pushgateway.data unless told otherwise: every
    # Pushgateway on the machine would load (and show) every other test run's metrics.
    persistence = workdir / "pushgateway.data"
    web_config = workdir / "pushgateway-web.yml"
    web_config.write_text(platform_web_config(PUSH_BCRYPT))  # the file infra mounts, from its own function
    for attempt in range(3):
        port = free_port()
        log_path = workdir / f"pushgateway-{attempt}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--web.listen-address=127.0.0.1:{port}",
                    f"--web.config.file={web_config}",
                    f"--persistence.file={persistence}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            if _listening(process, log_path, port, within_s=30):
                yield f"127.0.0.1:{port}"
                return
        finally:
            process.terminate()
            process.wait(timeout=10)
    raise AssertionError(f"no Pushgateway could bind a port: {log_path.read_text()[-1000:]}")


def _listening(process: subprocess.Popen, log: Path, port: int, *, within_s: float) -> bool:
    """True once the process logs that it listens on `port`; False if it exits (the port was taken)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if f'msg="Listening on" address=127.0.0.1:{port}' in log.read_text():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    raise AssertionError(f"pushgateway not listening within {within_s} s: {log.read_text()[-1000:]}")


@pytest.fixture()
def push_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The login as the CronJob passes it: a user name and a mounted password file."""
    password = tmp_path / "push-password"
    password.write_text(PUSH_PASSWORD + "\n")
    monkeypatch.setenv("MODELOPS_PUSHGATEWAY_USERNAME", PUSH_USER)
    monkeypatch.setenv("MODELOPS_PUSHGATEWAY_PASSWORD_FILE", str(password))


def scrape_config(gateway: str) -> dict[str, Any]:
    """Prometheus' scrape of it, as kube-prometheus-stack's: the job's own labels win, with the login."""
    return {
        "job_name": "pushgateway",
        "honor_labels": True,
        "basic_auth": {"username": PUSH_USER, "password": PUSH_PASSWORD},
        "static_configs": [{"targets": [gateway]}],
    }


def gateway_metrics(gateway: str) -> str:
    request = urllib.request.Request(f"http://{gateway}/metrics")
    login = base64.b64encode(f"{PUSH_USER}:{PUSH_PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {login}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()
