"""A loopback HTTPS server answering as the Kubernetes API server would for namespaced lists.

No cluster runs here, so this is the honest stand-in: it serves objects rendered from gitops/ with
`kubectl kustomize` (what Argo CD would apply), with the metadata the API server adds, in pages, behind
a bearer-token check, over TLS with its own CA, as a pod's service account would see it.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from modelops.monitoring.kubernetes_api import ApiServer
from tests.tools import require_command

# kind -> (API group/version, plural), as the API server routes them.
RESOURCES = {
    "InferenceService": ("serving.kserve.io/v1beta1", "inferenceservices"),
    "HTTPRoute": ("gateway.networking.k8s.io/v1", "httproutes"),
}


def render(overlay: Path) -> list[dict[str, Any]]:
    """What Argo CD would apply for `overlay`: `kubectl kustomize`'s output."""
    done = subprocess.run(
        [require_command("kubectl"), "kustomize", str(overlay)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@dataclass
class Cluster:
    """What the server holds and saw: objects by namespace, requests, and failures to inject."""

    token: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before serving

    def apply(self, objects: list[dict[str, Any]]) -> None:
        for index, obj in enumerate(objects):
            # What the API server adds to an object it stored.
            metadata = {**obj["metadata"], "uid": f"uid-{len(self.objects) + index}", "resourceVersion": "7"}
            self.objects.append({**obj, "metadata": metadata, "status": {}})


def _handler(cluster: Cluster) -> type[BaseHTTPRequestHandler]:
    routes = {
        f"/apis/{group}/namespaces/{{ns}}/{plural}": kind for kind, (group, plural) in RESOURCES.items()
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int, reason: str, message: str) -> None:
            self._send(code, {"kind": "Status", "status": "Failure", "reason": reason, "message": message})

        def do_GET(self) -> None:  # http.server's name for it
            cluster.requests.append(self.path)
            if self.headers.get("Authorization") != f"Bearer {cluster.token}":
                self._status(401, "Unauthorized", "Unauthorized")
                return
            if cluster.fail_next:
                self._status(cluster.fail_next.pop(0), "ServiceUnavailable", "etcd is busy")
                return
            parts = urlsplit(self.path)
            segments = parts.path.split("/")
            if len(segments) != 7 or segments[4] != "namespaces":
                self._status(404, "NotFound", "the server could not find the requested resource")
                return
            namespace = segments[5]
            kind = routes.get(parts.path.replace(f"/namespaces/{namespace}/", "/namespaces/{ns}/"))
            if kind is None:
                self._status(404, "NotFound", "the server could not find the requested resource")
                return
            items = [
                o
                for o in cluster.objects
                if o["kind"] == kind and o["metadata"].get("namespace") == namespace
            ]
            # One object per page, whatever the limit: a server may return fewer items than asked for.
            query = parse_qs(parts.query)
            start = int(query.get("continue", ["0"])[0])
            page = items[start : start + 1]
            token = str(start + 1) if start + 1 < len(items) else ""
            group = RESOURCES[kind][0]
            self._send(
                200,
                {
                    "apiVersion": group,
                    "kind": f"{kind}List",
                    "metadata": {"resourceVersion": "7", **({"continue": token} if token else {})},
                    "items": page,
                },
            )

    return Handler


@contextmanager
def api_server(workdir: Path, cluster: Cluster) -> Iterator[ApiServer]:
    """The server on a free loopback port with a fresh self-signed certificate; stopped on exit."""
    openssl = require_command("openssl")
    key, cert = workdir / "apiserver.key", workdir / "apiserver.crt"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=kubernetes",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc"],
        check=True, capture_output=True,
    )  # fmt: skip
    token_file = workdir / "token"
    token_file.write_text(cluster.token + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(cluster))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ApiServer(f"https://127.0.0.1:{server.server_address[1]}", token_file, cert)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
