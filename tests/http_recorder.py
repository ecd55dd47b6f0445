"""A real HTTP server on a free port that answers every GET with a ConfigMap and records the path,
and every connection made to it (git's own protocol connects without an HTTP request).

What a test points a remote kustomize entry at to prove nothing fetched it: a render that reached
the network would be a connection here.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.tools import require

_BODY = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched-from-the-network\n"


@dataclass
class Recorder:
    host: str
    port: int
    requests: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@contextmanager
def recording_server(host: str = "127.0.0.1") -> Iterator[Recorder]:
    recorder: Recorder

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(_BODY)))
            self.end_headers()
            self.wfile.write(_BODY)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def verify_request(self, request: object, client_address: object) -> bool:
            recorder.connections.append(str(client_address))
            return True

    server = Server((host, 0), Handler)
    recorder = Recorder(host, server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def non_loopback_address() -> str:
    """This machine's address on its default route: Go's HTTP client proxies it (not loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a UDP connect sends nothing; it picks the source address
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    require(not address.startswith("127."), "an address other than loopback")
    return address
