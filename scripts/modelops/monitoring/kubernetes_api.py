"""Reading lists of objects from the Kubernetes API server as a pod: its service account's token and CA.

Stdlib HTTPS on purpose: two GET requests an hour do not need a client library, and the pod's
credentials are files the kubelet mounts. The token is read for every request, because the kubelet
rotates a projected token in place. Every call is bounded: a 5 s timeout per attempt, three attempts on
a refused connection, a 429 or a 5xx, 16 MiB per page, and 50 pages per list.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.errors import InputError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TIMEOUT_S, ATTEMPTS, BACKOFF_S = 5.0, 3, 1.0
PAGE_LIMIT, MAX_PAGES, MAX_PAGE_BYTES = 250, 50, 16 * 1024 * 1024
_RETRIED = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class ApiServer:
    url: str  # https://host:port
    token_file: Path
    ca_file: Path

    @classmethod
    def in_cluster(
        cls, env: Mapping[str, str] | None = None, *, account_dir: Path = SERVICE_ACCOUNT_DIR
    ) -> ApiServer:
        """The API server as a pod sees it; outside a pod, one line that says so."""
        env = os.environ if env is None else env
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise InputError(
                "KUBERNETES_SERVICE_HOST is unset: the live releases are read from the cluster only inside a "
                "pod; on a laptop leave --namespace out to read the gitops overlay"
            )
        missing = [p for p in (account_dir / "token", account_dir / "ca.crt") if not p.is_file()]
        if missing:
            raise InputError(f"{missing[0]}: not mounted; the pod needs its service account's token and CA")
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return cls(f"https://{netloc}", account_dir / "token", account_dir / "ca.crt")


def list_objects(server: ApiServer, path: str, *, what: str) -> list[dict[str, Any]]:
    """Every item of the list at `path` (e.g. /apis/GROUP/VERSION/namespaces/NS/PLURAL), page by page,
    each item given the list's kind without its `List` suffix (the API server leaves items kindless)."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    items: list[dict[str, Any]] = []
    token = ""
    for _ in range(MAX_PAGES):
        query = {"limit": str(PAGE_LIMIT), **({"continue": token} if token else {})}
        page = _get(server, f"{path}?{urllib.parse.urlencode(query)}", context=context, what=what)
        kind = str(page.get("kind", "")).removesuffix("List")
        items.extend({"kind": kind, **item} for item in page.get("items") or [])
        token = str((page.get("metadata") or {}).get("continue") or "")
        if not token:
            return items
    raise InputError(f"{what}: more than {MAX_PAGES * PAGE_LIMIT} objects at {server.url}{path}")


def _get(server: ApiServer, path_and_query: str, *, context: ssl.SSLContext, what: str) -> dict[str, Any]:
    where = f"{server.url}{path_and_query.split('?')[0]}"
    reason = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_S * attempt)
        request = urllib.request.Request(
            f"{server.url}{path_and_query}",
            headers={"Authorization": f"Bearer {_token(server)}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as response:
                body = response.read(MAX_PAGE_BYTES + 1)
        except urllib.error.HTTPError as error:
            if error.code in _RETRIED:
                reason = f"HTTP {error.code}"
                continue
            raise InputError(f"{what}: {where} answered {error.code} ({_status_message(error)})") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = str(getattr(error, "reason", error))
            if isinstance(getattr(error, "reason", None), ssl.SSLCertVerificationError):
                raise InputError(f"{what}: {where}: {reason}") from None
            continue
        if len(body) > MAX_PAGE_BYTES:
            raise InputError(f"{what}: {where} sent a page over {MAX_PAGE_BYTES // 2**20} MiB")
        try:
            page = json.loads(body)
        except ValueError:
            raise InputError(f"{what}: {where} did not answer JSON") from None
        if not isinstance(page, dict):
            raise InputError(f"{what}: {where} did not answer a list")
        return page
    raise InputError(f"{what}: {where} did not answer {ATTEMPTS} attempts ({reason})")


def _token(server: ApiServer) -> str:
    try:
        return server.token_file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise InputError(f"{server.token_file}: unreadable ({error.strerror})") from None


def _status_message(error: urllib.error.HTTPError) -> str:
    """The API server's own reason (a Status object's message), e.g. which verb RBAC refused."""
    try:
        status = json.loads(error.read(64 * 1024))
        return str(status.get("message") or error.reason)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)
