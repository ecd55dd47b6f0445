"""A stand-in for KServe's agent: the Go sidecar of a predictor pod, which cannot run here.

In the cluster the agent sits in front of the model server and logs each inference request and its
response to the InferenceService's `logger.url` (mode `all`). This class does the same for a caller
that talks to MLServer directly: it is handed the request body it sent and the response it got, and
sends them as KServe v0.16 does (pkg/logger/handler.go and worker.go; modelops.payloads.events
describes them): two CloudEvents in binary mode, built with the CloudEvents SDK, with the same id,
type `org.kubeflow.serving.inference.request` / `...response`, the pod's name as source, the
extensions `inferenceservicename`, `namespace`, `component`, `endpoint` and `metadata`, and the
request's own Content-Type on both. The response is logged only when the model answered 200. No
Authorization header: the real agent cannot send one.

What differs: the agent sends asynchronously from a queue and never retries; this one sends at once
and retries a send the connection lost, once (the sink writes a redelivered event only once).
"""

from __future__ import annotations

import http.client
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cloudevents.core.bindings.http import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from modelops.payloads.events import REQUEST_TYPE, RESPONSE_TYPE

CONTENT_TYPE = "application/json"  # what a V2 client sends, and so what KServe copies onto both events
TIMEOUT_S = 10.0
_FORMAT = JSONFormat()


class LoggerError(RuntimeError):
    """The payload sink refused an event or could not be reached (one line)."""


def logged_event(
    event_type: str,
    event_id: str,
    body: bytes,
    *,
    inference_service: str,
    namespace: str,
    content_type: str = CONTENT_TYPE,
) -> tuple[dict[str, str], bytes]:
    """The headers and body of one logged event, as the agent of `inference_service`'s predictor sends it."""
    event = CloudEvent(
        attributes={
            "id": event_id,
            "type": event_type,
            # The agent's source is its pod's name (agent_injector.go); a stand-in pod name here.
            "source": f"{inference_service}-predictor-local",
            "time": datetime.now(UTC),
            "datacontenttype": content_type,
            "inferenceservicename": inference_service,
            "namespace": namespace,
            "component": "predictor",
            "endpoint": "",
            "metadata": "{}",
        },
        data=body,
    )
    message = to_binary(event, _FORMAT)
    return dict(message.headers), message.body


@dataclass(frozen=True)
class Logged:
    event_id: str
    response_logged: bool  # False when the model did not answer 200: the agent logs the request alone


class KServeAgent:
    """Logs request/response pairs of one InferenceService to its logger URL over one keep-alive
    connection, as the agent's Go client keeps one. Not thread-safe: one per sending thread."""

    def __init__(
        self, logger_url: str, *, inference_service: str, namespace: str, timeout_s: float = TIMEOUT_S
    ) -> None:
        parts = urlsplit(logger_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"logger URL {logger_url!r}: an http:// URL is expected")
        self.logger_url = logger_url
        self._host, self._port, self._path = parts.hostname, parts.port or 80, parts.path
        self._service, self._namespace = inference_service, namespace
        self._timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def log(self, request: bytes, response: bytes, *, status: int, event_id: str | None = None) -> Logged:
        """Log one inference: its request, and its response when `status` is 200. The id is the
        caller's Ce-Id when it sent one, else a fresh UUID (the agent's getOrCreateID)."""
        event_id = event_id or str(uuid.uuid4())
        self._send(REQUEST_TYPE, event_id, request)
        if status != 200:
            return Logged(event_id, response_logged=False)
        self._send(RESPONSE_TYPE, event_id, response)
        return Logged(event_id, response_logged=True)

    def _send(self, event_type: str, event_id: str, body: bytes) -> None:
        headers, payload = logged_event(
            event_type, event_id, body, inference_service=self._service, namespace=self._namespace
        )
        for attempt in (1, 2):
            connection = self._connection or http.client.HTTPConnection(
                self._host, self._port, timeout=self._timeout_s
            )
            self._connection = connection
            try:
                connection.request("POST", self._path, body=payload, headers=headers)
                answer = connection.getresponse()
                text = answer.read().decode(errors="replace").strip()
            except (http.client.HTTPException, OSError) as error:
                self.close()  # a dropped keep-alive connection: the next attempt reconnects
                if attempt == 2:
                    raise LoggerError(f"payload sink at {self.logger_url}: {error}") from None
                continue
            if answer.getheader("Connection", "").lower() == "close":
                self.close()
            if answer.status != 200:
                raise LoggerError(f"payload sink at {self.logger_url} answered {answer.status}: {text}")
            return

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
