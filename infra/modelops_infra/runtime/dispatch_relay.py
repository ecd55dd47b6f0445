"""Relays Alertmanager's webhook notifications to GitHub as `repository_dispatch` events.

Alertmanager can only POST its own JSON, and GitHub's `POST /repos/{owner}/{repo}/dispatches` wants
`{"event_type": ..., "client_payload": {...}}`. This relay maps one onto the other:

- a firing `ModelDriftHigh` becomes `model-drift` with `{"model"}` (.github/workflows/retrain.yml);
- a firing `ModelErrorRateHigh` of a `candidate` release becomes `model-rollback` with
  `{"model", "environment"}` (the rollback workflow runs `modelops rollout abort <model>`).

Standard library only: the platform runs this file from a ConfigMap in the plain python image
(infra/modelops_infra/manifests/alert_routing.py), so it imports nothing from modelops or any other package.

It trusts no request. Each must carry `Authorization: Bearer <token>`, the token of a Secret that
Alertmanager mounts too (its webhook's `http_config.authorization.credentials_file`); anything else is
a 401 before the body is read. A body over MAX_BODY_BYTES is a 413, also unread. One notification sends
at most MAX_DISPATCHES dispatches, only for the models this environment serves (RELAY_MODELS_FILE,
which the stack writes from gitops/models/*/overlays/<env>), and a firing it already dispatched is not
dispatched again within REPEAT_WINDOW_S (Memory says why memory in the process is enough).

Environment: MODELOPS_ENVIRONMENT (sent with a rollback), GITHUB_REPOSITORY (owner/name),
GITHUB_TOKEN_FILE (a mounted Secret, read at each dispatch so a rotated token is picked up) or
GITHUB_TOKEN, GITHUB_API_URL (default https://api.github.com), RELAY_AUTH_TOKEN_FILE (the token
Alertmanager presents, read at each request), RELAY_MODELS_FILE (one model name a line, read at
start: the stack rolls the pod when it changes), RELAY_HOST and RELAY_PORT (0.0.0.0:8080).
"""

from __future__ import annotations

import email.message
import hashlib
import hmac
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
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
GITHUB_API_VERSION = "2022-11-28"

# Alertmanager sends at most 10 alerts a notification (the receiver's max_alerts): a few KiB.
MAX_BODY_BYTES = 256 * 1024
# Its routes group by alert and model, so a notification it sends asks for one dispatch; the rest
# is headroom, and a bound on what any one request can cost.
MAX_DISPATCHES = 5
# Well under the shortest repeat_interval (12h): a reminder Alertmanager means to send still goes out.
REPEAT_WINDOW_S = 3600.0
MEMORY_ENTRIES = 4096
GITHUB_TIMEOUT_S = 10.0  # per attempt, connect and each read
RETRY_PAUSE_S = 1.0
READ_TIMEOUT_S = 30.0  # a client may take this long per read of its request
# The longest a request from a client that sends at once (Alertmanager) holds its thread, and so
# what a stopping pod waits for. A client dripping its bytes can take longer: READ_TIMEOUT_S bounds
# each read, not the whole; only Alertmanager may connect (the relay's NetworkPolicy).
LONGEST_REQUEST_S = READ_TIMEOUT_S + MAX_DISPATCHES * (2 * GITHUB_TIMEOUT_S + RETRY_PAUSE_S)


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook notification (version 4)."""


class GitHubRefused(RuntimeError):
    """GitHub did not accept a dispatch (after the one retry a transient failure gets)."""


def is_name(value: str) -> bool:
    """A model or environment name: lowercase letters, digits and dashes, at most 63 characters."""
    return _NAME.fullmatch(value) is not None


@dataclass(frozen=True)
class Dispatch:
    """One repository_dispatch, and the firings (alerts, by when they started) that asked for it."""

    event_type: str
    model: str
    environment: str | None = None  # sent with a rollback only
    firings: tuple[str, ...] = ()

    @property
    def body(self) -> dict[str, Any]:
        payload = {"model": self.model}
        if self.environment is not None:
            payload["environment"] = self.environment
        return {"event_type": self.event_type, "client_payload": payload}

    def __str__(self) -> str:
        return f"{self.event_type} {self.model}"


@dataclass(frozen=True)
class Plan:
    """What one notification gets: dispatches to send, and what was held back, with why."""

    dispatches: tuple[Dispatch, ...]
    over_limit: tuple[Dispatch, ...] = ()
    unknown_models: tuple[str, ...] = ()  # named by firing alerts, served nowhere in this environment


def dispatches(alertmanager_payload: Any, *, environment: str) -> list[Dispatch]:
    """The dispatches a notification asks for: firing alerts only, one per (event type, model).

    A body that is not Alertmanager's webhook JSON raises PayloadError. A well-formed alert the relay
    does not act on, or whose model label is not a model name, is dropped with a logged reason.
    """
    if not is_name(environment):
        raise ValueError(f"environment {environment!r} is not an environment name")
    group_key, alerts = _notification(alertmanager_payload)
    found: dict[tuple[str, str], list[str]] = {}
    for alert in alerts:
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
        firing = _firing(group_key, alert["fingerprint"], alert["startsAt"], event)
        keys = found.setdefault((event, model), [])
        if firing not in keys:
            keys.append(firing)
    return [
        Dispatch(event, model, environment if event == ROLLBACK_EVENT else None, tuple(keys))
        for (event, model), keys in found.items()
    ]


def plan(
    alertmanager_payload: Any, *, environment: str, models: Collection[str], limit: int = MAX_DISPATCHES
) -> Plan:
    """`dispatches`, kept to the models this environment serves and to `limit`, in the alerts' order."""
    known: list[Dispatch] = []
    unknown: set[str] = set()
    for dispatch in dispatches(alertmanager_payload, environment=environment):
        if dispatch.model in models:
            known.append(dispatch)
        else:
            unknown.add(dispatch.model)
    return Plan(tuple(known[:limit]), tuple(known[limit:]), tuple(sorted(unknown)))


def _firing(group_key: str, fingerprint: str, starts_at: str, event: str) -> str:
    # One alert's one firing, as one group sees it: a fired-again alert starts anew, so it counts anew.
    # Hashed: the group key is the sender's text, and the memory keeps thousands of these.
    return hashlib.sha256(json.dumps([group_key, fingerprint, starts_at, event]).encode()).hexdigest()


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


def _notification(payload: Any) -> tuple[str, list[dict[str, Any]]]:
    """The group key and alerts of a webhook v4 body, checked for the fields the relay reads."""
    if not isinstance(payload, dict) or payload.get("version") != "4":
        raise PayloadError("not an Alertmanager webhook notification (version 4)")
    group_key = payload.get("groupKey")
    if not isinstance(group_key, str):
        raise PayloadError("field 'groupKey' is not a string")
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
        for name in ("fingerprint", "startsAt"):
            if not isinstance(alert.get(name), str):
                raise PayloadError(f"alerts[{index}].{name} is not a string")
    return group_key, alerts


class Memory:
    """The firings dispatched lately: a bounded LRU, shared by the request threads.

    In this process only, which is enough. Alertmanager's notification log is the real memory: it
    notifies a group once, then only after group_interval or repeat_interval, and keeps that across
    relay restarts. What arrives again sooner comes within minutes, to this one pod (replicas: 1):
    Alertmanager's retry of a notification answered 5xx after part of it went out, or whose answer it
    lost to a timeout, or a second Alertmanager replica whose peer's log had not reached it yet.

    A restart forgets, so a firing can be dispatched once more after one. The workflows absorb that:
    rollback serialises per model and environment (its concurrency group) and does nothing while an
    abort pull request is open; retrain queues the second run behind the first (concurrency group per
    model, never cancelled), which trains another candidate and opens a second promotion pull request
    to dev: CI time and a pull request to close, no change to any environment.
    """

    def __init__(
        self,
        *,
        window_s: float = REPEAT_WINDOW_S,
        entries: int = MEMORY_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_s = window_s
        self._entries = entries
        self._clock = clock
        self._sent: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, firings: Iterable[str]) -> tuple[str, ...]:
        """The firings not dispatched within the window, now held as dispatched; () means a repeat.

        Checked and held at once, so two copies of a notification arriving together send once. A
        dispatch that then fails gives its claim back with `release`.
        """
        with self._lock:
            now = self._clock()
            while self._sent and now - next(iter(self._sent.values())) > self._window_s:
                self._sent.popitem(last=False)
            new = tuple(f for f in dict.fromkeys(firings) if f not in self._sent)
            for firing in new:
                self._sent[firing] = now
            while len(self._sent) > self._entries:
                self._sent.popitem(last=False)
            return new

    def release(self, firings: Iterable[str]) -> None:
        with self._lock:
            for firing in firings:
                self._sent.pop(firing, None)


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
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: email.message.Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send(body: dict[str, Any], github: GitHub) -> None:
    """POST one dispatch (GitHub answers 204). A network error or 5xx is retried once; a 4xx is not.

    Bounded: two attempts of at most `github.timeout_s` per connect and read, a pause between them.
    """
    data = json.dumps(body).encode()
    reason = ""
    for attempt in (1, 2):
        if attempt == 2:
            log.warning("%s; retrying once", reason)
            time.sleep(RETRY_PAUSE_S)
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
    """POST /alerts (Alertmanager's webhook) and GET /healthz; `forward` sends one dispatch.

    `token` returns the bearer token a request must present; `models` are the ones it may name.
    """

    # Request threads are joined when the server closes: a stopping pod finishes what it took on.
    daemon_threads = False
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        environment: str,
        forward: Callable[[dict[str, Any]], None],
        token: Callable[[], str],
        models: Collection[str],
        memory: Memory | None = None,
    ) -> None:
        if not is_name(environment):
            raise ValueError(f"environment {environment!r} is not an environment name")
        super().__init__(address, _Handler)
        self.environment = environment
        self.forward = forward
        self.token = token
        self.models = frozenset(models)
        self.memory = memory or Memory()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Relay
    server_version = "modelops-dispatch-relay"
    sys_version = ""
    timeout = READ_TIMEOUT_S

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, "ok")
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        if self.path != "/alerts":
            self._reply(404, "not found")
            return
        if not self._authorized():
            log.warning("refused a request from %s: no valid bearer token", self.client_address[0])
            self._reply(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._reply(411, "Content-Length required")
            return
        if int(length) > MAX_BODY_BYTES:
            log.warning("refused a body of %s bytes, over %d", length, MAX_BODY_BYTES)
            self._reply(413, f"body larger than {MAX_BODY_BYTES} bytes")
            return
        raw = self.rfile.read(int(length))
        server = self.server
        try:
            planned = plan(_decode(raw), environment=server.environment, models=server.models)
        except PayloadError as error:
            log.warning("refused a notification: %s", error)
            self._reply(400, str(error))
            return
        if planned.unknown_models:
            shown = ", ".join(planned.unknown_models[:20])
            more = len(planned.unknown_models) - 20
            log.warning(
                "ignored %d models this environment does not serve: %s%s",
                len(planned.unknown_models),
                shown,
                f" and {more} more" if more > 0 else "",
            )
        if planned.over_limit:
            dropped = ", ".join(str(d) for d in planned.over_limit)
            log.warning("dropped over the limit of %d: %s", MAX_DISPATCHES, dropped)
        sent = repeated = 0
        for dispatch in planned.dispatches:
            claimed = server.memory.claim(dispatch.firings)
            if not claimed:
                repeated += 1
                log.info("%s: already dispatched for these firings; not sent again", dispatch)
                continue
            try:
                server.forward(dispatch.body)
            except GitHubRefused as error:
                server.memory.release(claimed)
                # 5xx: Alertmanager retries the notification, with backoff, until it goes through;
                # what did go out is remembered and not sent again.
                log.error("%s not sent: %s", dispatch, error)
                self._reply(502, "GitHub did not accept the dispatch")
                return
            sent += 1
        self._reply(
            200,
            f"dispatched={sent} repeated={repeated} over_limit={len(planned.over_limit)} "
            f"unknown_models={len(planned.unknown_models)}",
        )

    def _authorized(self) -> bool:
        scheme, _, presented = self.headers.get("Authorization", "").partition(" ")
        try:
            expected = self.server.token()
        except OSError as error:
            log.error("the relay's own token cannot be read: %s", error)
            return False
        if not expected:
            log.error("the relay's own token is empty: every request is refused")
            return False
        # Bytes, not str: compare_digest refuses non-ASCII str, and a header may hold any latin-1.
        # Its time depends on the lengths only, never on where a guess first differs.
        matches = hmac.compare_digest(presented.encode(), expected.encode())
        return scheme.lower() == "bearer" and matches

    def _reply(self, status: int, text: str, headers: Mapping[str, str] | None = None) -> None:
        payload = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

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
    relay_token: Callable[[], str] = field(repr=False)
    models: frozenset[str]

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
        relay_token = _relay_token_source(env, problems)
        models = _models(env, problems)
        if problems:
            raise ValueError("; ".join(problems))
        return cls(
            environment,
            GitHub(repository, token, api_url),
            env.get("RELAY_HOST", "0.0.0.0"),
            int(port),
            relay_token,
            models,
        )


def _token_source(env: Mapping[str, str]) -> Callable[[], str]:
    if path := env.get("GITHUB_TOKEN_FILE"):
        return lambda: Path(path).read_text(encoding="utf-8").strip()
    value = env.get("GITHUB_TOKEN", "").strip()
    return lambda: value


def _relay_token_source(env: Mapping[str, str], problems: list[str]) -> Callable[[], str]:
    """A file only, read at each request: a rotated Secret reaches both ends without a restart."""
    path = env.get("RELAY_AUTH_TOKEN_FILE", "")
    if not path:
        problems.append("RELAY_AUTH_TOKEN_FILE is not set: the relay would accept anyone")
        return lambda: ""

    def read() -> str:
        return Path(path).read_text(encoding="utf-8").strip()

    try:
        if not read():
            problems.append("the relay's own token is empty (RELAY_AUTH_TOKEN_FILE)")
    except OSError as error:
        problems.append(f"RELAY_AUTH_TOKEN_FILE cannot be read: {error}")
    return read


def _models(env: Mapping[str, str], problems: list[str]) -> frozenset[str]:
    path = env.get("RELAY_MODELS_FILE", "")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines() if path else None
    except OSError as error:
        problems.append(f"RELAY_MODELS_FILE cannot be read: {error}")
        return frozenset()
    if lines is None:
        problems.append("RELAY_MODELS_FILE is not set")
        return frozenset()
    models = [line.strip() for line in lines if line.strip()]
    problems.extend(f"RELAY_MODELS_FILE: {m!r} is not a model name" for m in models if not is_name(m))
    return frozenset(models)


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
        token=config.relay_token,
        models=config.models,
    )
    # Kubernetes stops the pod with SIGTERM: take no new request, finish those in flight (closing
    # the server joins their threads), then exit.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=relay.shutdown).start())
    if not config.models:
        log.warning("no models listed in RELAY_MODELS_FILE: every dispatch will be ignored")
    log.info(
        "relaying %s alerts for %d models to %s on %s:%d",
        config.environment,
        len(config.models),
        config.github.dispatches_url,
        config.host,
        relay.server_port,
    )
    with relay:
        relay.serve_forever()
    log.info("stopped; every request in flight was answered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
