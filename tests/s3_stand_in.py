"""An S3 API on loopback (moto's server), as MinIO serves the local stack: MinIO is not on PyPI."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import free_port, wait_ready


@pytest.fixture()
def s3_server(tmp_path: Path) -> Iterator[str]:
    """The endpoint URL of a fresh moto server, stopped when the test ends."""
    port = free_port()
    log = tmp_path / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            # The project's own moto (the dev lock's), never whichever `moto_server` PATH finds first.
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}/moto-api/", process, what="moto_server", timeout_s=60, log=log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def put(endpoint: str, path: str, data: bytes = b"") -> None:
    """PUT a bucket (`path` without a slash) or an object."""
    request = urllib.request.Request(
        f"{endpoint}/{path}", data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
