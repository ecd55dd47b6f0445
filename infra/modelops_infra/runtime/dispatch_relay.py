"""Relays Alertmanager's webhook notifications to GitHub as `repository_dispatch` events.

Alertmanager can only POST its own JSON, and GitHub's `POST /repos/{owner}/{repo}/dispatches` wants
`{"event_type": ..., "client_payload": {...}}`. This relay maps one onto the other:

- a firing `ModelDriftHigh` becomes `model-drift` with `{"model"}` (.github/workflows/retrain.yml);
- a firing `ModelErrorRateHigh` of a `candidate` release becomes `model-rollback` with
  `{"model", "environment"}` (the rollback workflow runs `modelops rollout <model> abort`).

Standard library only: the platform runs this file from a ConfigMap in the plain python image
(infra/modelops_infra/manifests/alert_routing.py), so it imports nothing from modelops or any other package.

It keeps no memory of what it sent. Alertmanager's notification log already is that memory: a group
is notified once, then again only after its repeat_interval (or when a new alert joins it), and the
log survives a relay restart. The routes group by model, so one notification carries one dispatch.

Environment: MODELOPS_ENVIRONMENT (sent with a rollback), GITHUB_REPOSITORY (owner/name),
GITHUB_TOKEN_FILE (a mounted Secret, read at each dispatch so a rotated token is picked up) or
GITHUB_TOKEN, GITHUB_API_URL (default https://api.github.com), RELAY_HOST and RELAY_PORT (0.0.0.0:8080).
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("dispatch-relay")

# The names infra/modelops_infra/manifests/alert_rules.py gives its alerts and labels (tests/alerting holds
# them equal) and the event types the workflows listen for.
DRIFT_ALERT = "ModelDriftHigh"
ERROR_RATE_ALERT = "ModelErrorRateHigh"
MODEL_LABEL = "model"
RELEASE_LABEL = "release"
CANDIDATE_RELEASE = "candidate"
RETRAIN_EVENT = "model-drift"
ROLLBACK_EVENT = "model-rollback"

# Matched with fullmatch: `$` would let a trailing newline through.
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_BODY_BYTES = 1 << 20
GITHUB_TIMEOUT_S = 10.0
GITHUB_API_VERSION = "2022-11-28"


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook notification (version 4)."""


class GitHubRefused(RuntimeError):
    """GitHub did not accept a dispatch (after the one retry a transient failure gets)."""


def is_name(value: str) -> bool:
    """A model or environment name: lowercase letters, digits and dashes, at most 63 characters."""
    return _NAME.fullmatch(value) is not None


def dispatches(alertmanager_payload: Any, *, environment: str) -> list[dict[str, Any]]:
    """The dispatch bodies a notification asks for: firing alerts only, one per (event type, model).

    A body that is not Alertmanager's webhook JSON raises PayloadError. A well-formed alert the relay
    does not act on, or whose model label is not a model name, is dropped with a logged reason.
    """
    if not is_name(environment):
        raise ValueError(f"environment {environment!r} is not an environment name")
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    for alert in _alerts(alertmanager_payload):
        if alert["status"] != "firing":
            continue  # a resolved alert takes nothing back: a proposed PR stays for people to judge
        labels = alert["labels"]
        name = labels.get("alertname", "")
        event = _event_for(labels)
        if event is None:
            log.info(
                "ignored %r (release %r): not an alert the relay acts on", name, labels.get(RELEASE_LABEL)
            )
            continue
        model = labels.get(MODEL_LABEL, "")
        if not is_name(model):
            log.warning("dropped %s: label model=%r is not a model name", name, model)
            continue
        if (event, model) in bodies:
            continue
        client_payload = {"model": model}
        if event == ROLLBACK_EVENT:
            client_payload["environment"] = environment
        bodies[(event, model)] = {"event_type": event, "client_payload": client_payload}
    return list(bodies.values())


def _event_for(labels: Mapping[str, str]) -> str | None:
    name = labels.get("alertname")
    if name == DRIFT_ALERT:
        return RETRAIN_EVENT
    # Only a candidate is backed out by a bot. Aborting a canary returns all traffic to the stable
    # release that served until minutes ago: a known-good state, and the rollout was designed to be
    # undone. A failing stable release has no such state behind it: the previous release may lack
    # fixes it shipped, and the cause is as often upstream (a feature, a caller, the cluster), where
    # rolling back does harm. That alert pages people and proposes nothing.
    if name == ERROR_RATE_ALERT and labels.get(RELEASE_LABEL) == CANDIDATE_RELEASE:
        return ROLLBACK_EVENT
    return None


def _alerts(payload: Any) -> list[dict[str, Any]]:
    """The alerts of a webhook v4 body, checked for the fields the mapping reads."""
    if not isinstance(payload, dict) or payload.get("version") != "4":
        raise PayloadError("not an Alertmanager webhook notification (version 4)")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("field 'alerts' is not a list")
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise PayloadError(f"alerts[{index}] is not an object")
        if alert.get("status") not in ("firing", "resolved"):
            raise PayloadError(f"alerts[{index}].status is neither 'firing' nor 'resolved'")
        labels = alert.get("labels")
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise PayloadError(f"alerts[{index}].labels is not a mapping of strings")
    return alerts


@dataclass(frozen=True)
class GitHub:
    """Where dispatches go. `token` is called at each dispatch, so a rotated Secret is picked up."""

    repository: str
    token: Callable[[], str] = field(repr=False)
    api_url: str = "https://api.github.com"
    timeout_s: float = GITHUB_TIMEOUT_S

    @property
    def dispatches_url(self) -> str:
        return f"{self.api_url.rstrip('/')}/repos/{self.repository}/dispatches"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would resend the Authorization header to wherever a redirect points; refuse instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send(body: dict[str, Any], github: GitHub) -> None:
    """POST one dispatch (GitHub answers 204). A network error or 5xx is retried once; a 4xx is not."""
    data = json.dumps(body).encode()
    reason = ""
    for attempt in (1, 2):
        if attempt == 2:
            log.warning("%s; retrying once", reason)
            time.sleep(1.0)
        try:
            request = urllib.request.Request(
                github.dispatches_url, data=data, method="POST", headers=_headers(github.token())
            )
            with _OPENER.open(request, timeout=github.timeout_s) as response:
                response.read()
            log.info("dispatched %s %s", body["event_type"], json.dumps(body["client_payload"]))
            return
        except urllib.error.HTTPError as error:
            detail = error.read(300).decode("utf-8", errors="replace").strip()
            reason = f"GitHub answered {error.code}: {detail}"
            if error.code < 500:
                break  # a refused token, a missing repository or a rate limit: a retry now changes nothing
        except OSError as error:  # unreachable, timed out, or the token file could not be read
            reason = f"no answer from GitHub: {error}"
    raise GitHubRefused(reason)


def _headers(token: str) -> dict[str, str]:
    return {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": GITHUB_API_VERSION,
        "Content-Type": "application/json",
        "User-Agent": "modelops-dispatch-relay",
    }


class Relay(http.server.ThreadingHTTPServer):
    """POST /alerts (Alertmanager's webhook) and GET /healthz; `forward` sends one dispatch."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], *, environment: str, forward: Callable[[dict[str, Any]], None]
    ) -> None:
        if not is_name(environment):
            raise ValueError(f"environment {environment!r} is not an environment name")
        super().__init__(address, _Handler)
        self.environment = environment
        self.forward = forward


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Relay
    server_version = "modelops-dispatch-relay"
    sys_version = ""
    timeout = 30  # seconds a client may take to send its request

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, "ok")
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        if self.path != "/alerts":
            self._reply(404, "not found")
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._reply(411, "Content-Length required")
            return
        if int(length) > MAX_BODY_BYTES:
            self._reply(413, f"body larger than {MAX_BODY_BYTES} bytes")
            return
        raw = self.rfile.read(int(length))
        try:
            bodies = dispatches(_decode(raw), environment=self.server.environment)
        except PayloadError as error:
            log.warning("refused a notification: %s", error)
            self._reply(400, str(error))
            return
        for body in bodies:
            try:
                self.server.forward(body)
            except GitHubRefused as error:
                # 5xx: Alertmanager retries the notification, with backoff, until it goes through.
                log.error("%s for %s not sent: %s", body["event_type"], body["client_payload"], error)
                self._reply(502, "GitHub did not accept the dispatch")
                return
        self._reply(200, f"{len(bodies)} dispatched")

    def _reply(self, status: int, text: str) -> None:
        payload = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError alike
        raise PayloadError(f"not JSON: {error}") from None


@dataclass(frozen=True)
class Config:
    environment: str
    github: GitHub
    host: str
    port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Every problem at once, as one ValueError; the token is read once to prove it is there."""
        problems = []
        environment = env.get("MODELOPS_ENVIRONMENT", "")
        if not is_name(environment):
            problems.append(f"MODELOPS_ENVIRONMENT={environment!r} is not an environment name")
        repository = env.get("GITHUB_REPOSITORY", "")
        if _REPOSITORY.fullmatch(repository) is None:
            problems.append(f"GITHUB_REPOSITORY={repository!r} is not owner/name")
        api_url = env.get("GITHUB_API_URL", "https://api.github.com")
        parts = urllib.parse.urlsplit(api_url)
        # The token goes in a header: only over TLS, or to a stand-in on this machine.
        if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)):
            problems.append(f"GITHUB_API_URL={api_url!r} is not https")
        port = env.get("RELAY_PORT", "8080")
        if not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(f"RELAY_PORT={port!r} is not a port")
        token = _token_source(env)
        try:
            if not token():
                problems.append("the GitHub token is empty")
        except OSError as error:
            problems.append(f"the GitHub token cannot be read: {error}")
        if problems:
            raise ValueError("; ".join(problems))
        return cls(
            environment, GitHub(repository, token, api_url), env.get("RELAY_HOST", "0.0.0.0"), int(port)
        )


def _token_source(env: Mapping[str, str]) -> Callable[[], str]:
    if path := env.get("GITHUB_TOKEN_FILE"):
        return lambda: Path(path).read_text(encoding="utf-8").strip()
    value = env.get("GITHUB_TOKEN", "").strip()
    return lambda: value


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = Config.from_env(os.environ)
    except ValueError as error:
        log.error("not started: %s", error)
        return 2
    relay = Relay(
        (config.host, config.port),
        environment=config.environment,
        forward=lambda body: send(body, config.github),
    )
    # Kubernetes stops the pod with SIGTERM: finish the requests in flight, then exit.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=relay.shutdown).start())
    log.info(
        "relaying %s alerts to %s on %s:%d",
        config.environment,
        config.github.dispatches_url,
        config.host,
        relay.server_port,
    )
    with relay:
        relay.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
