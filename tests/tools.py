"""External checkers: skip on a laptop that lacks one, fail in CI where every one must run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required in CI (CI=true) but is not available")
    pytest.skip(f"{what} not available on this machine")


def require_command(command: str) -> str:
    path = shutil.which(command)
    require(path is not None, f"the '{command}' command")
    assert path is not None
    return path


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(
    url: str, process: subprocess.Popen[Any], *, what: str, timeout_s: float, log: Path | None = None
) -> None:
    """Poll `url` until it answers 200; fail at once if `process` exits, or after `timeout_s`."""

    def tail() -> str:
        return "" if log is None else ":\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])

    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, reset, or an HTTP error while it starts
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout_s:g} s{tail()}")
        time.sleep(0.1)
