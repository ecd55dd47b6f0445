"""An S3 API on loopback (moto's server), as MinIO serves the local stack: MinIO is not on PyPI."""

from __future__ import annotations

import subprocess
import sys
import threading
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


@pytest.fixture()
def recording_s3() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """moto's S3 API on loopback, recording each request's headers (S3 itself is not reachable here)."""
    # Imported here: every test session loads this plugin, few tests record.
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    requests: list[dict[str, str]] = []
    app = DomainDispatcherApplication(create_backend_app)

    def recorder(environ, start_response):
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        requests.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "query": environ["QUERY_STRING"],
            }
            | headers
        )
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, recorder, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    try:
        yield endpoint, requests
    finally:
        # moto keeps its buckets in the process, not the server: the next test starts empty.
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(reset, timeout=10) as response:
            assert response.status == 200
        server.shutdown()
        thread.join(timeout=10)
