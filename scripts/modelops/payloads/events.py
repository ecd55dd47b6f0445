"""KServe's inference-logger CloudEvents, parsed with the CloudEvents SDK into what the sink stores.

What KServe v0.16 sends, read from its source (kserve/kserve at tag v0.16.0):
- pkg/logger/handler.go: the agent in front of the model server logs the request body before
  proxying it and the response body after, the response only when the model answered HTTP 200.
  Both events carry the same id: the inference request's own `Ce-Id` header when the caller sent one,
  otherwise a fresh UUID (`getOrCreateID`). Not X-Request-Id. So the id is the caller's choice
  whenever it sends Ce-Id, and a stable pod and the shadow pod that a mirrored request reaches share
  an id only if the caller sent Ce-Id (each pod's agent makes its own UUID otherwise). Both events
  carry the request's Content-Type, the response too.
- pkg/logger/worker.go: each event goes out with cloudevents sdk-go in binary mode: `ce-specversion`
  1.0, `ce-id`, `ce-type` `org.kubeflow.serving.inference.request` or `...inference.response`,
  `ce-source` (the pod's name, from pkg/webhook/admission/pod/agent_injector.go), `ce-time`, the
  extensions `ce-inferenceservicename`, `ce-namespace`, `ce-component`, `ce-endpoint` (may be empty),
  `ce-metadata` (JSON of the configured metadata headers) and, when configured, `ce-annotations`;
  the body is the V2 request or response JSON. The agent sets no other header: it cannot send an
  Authorization header. For an https logger URL it verifies the sink's certificate against a CA file
  mounted at /etc/tls/logger (or skips verification when told to); it presents no client certificate.
  A send that fails or is answered non-2xx is logged by the agent and not retried, and its queue
  blocks the model's request path when full (100 events, 5 workers by default).

So the sink must answer fast, cannot tell a KServe agent from any other pod by credentials (the
NetworkPolicy admits only model-serving pods: infra/modelops_infra/components/payload_sink.py), and
joins a request to its response by (logger URL, ce-id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from cloudevents.core.bindings.http import HTTPMessage, from_binary
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from modelops.payloads.layout import is_model_name

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
Kind = Literal["request", "response"]
_KINDS: dict[str, Kind] = {REQUEST_TYPE: "request", RESPONSE_TYPE: "response"}
MAX_ID_CHARS = 256
# The headers the sink reads of an event: no other reaches parse_event's checks or the SDK.
EVENT_HEADERS = ("ce-specversion", "ce-id", "ce-type", "ce-source", "ce-inferenceservicename", "content-type")
_FORMAT = JSONFormat()


class EventError(ValueError):
    """Not one of KServe's inference-logger events; the message is one line naming what is wrong."""


@dataclass(frozen=True)
class LoggedEvent:
    kind: Kind
    id: str
    inference_service: str
    body: dict[str, Any]
    digest: bytes  # of the body: a redelivery has the same id, type and body


def parse_event(headers: Iterable[tuple[str, str]], body: bytes) -> LoggedEvent:
    """One HTTP request in CloudEvents binary mode as KServe's agent sends it (see the module docstring);
    `headers` are its (name, value) pairs, e.g. `message.items()`."""
    names = {name.lower(): value for name, value in headers}
    if "ce-specversion" not in names:
        raise EventError("not a CloudEvent in binary mode: no ce-specversion header")
    if names["ce-specversion"] != "1.0":
        raise EventError(f"ce-specversion {names['ce-specversion']!r} is not 1.0")
    for required in ("ce-id", "ce-type", "ce-source", "ce-inferenceservicename"):
        if not names.get(required):
            raise EventError(f"header {required} is missing or empty")
    # Only the attributes the sink reads reach the SDK: not Authorization, nor ce-time (whose parsing
    # with dateutil would be a fifth of the sink's time per event), ce-metadata or ce-annotations.
    own = {name: names[name] for name in EVENT_HEADERS if name in names}
    try:
        event = from_binary(HTTPMessage(headers=own, body=body), _FORMAT, CloudEvent)
    except (BaseCloudEventException, ValueError, TypeError, OverflowError, RecursionError) as error:
        raise EventError(f"not a valid CloudEvent: {_one_line(error)}") from None
    kind = _KINDS.get(event.get_type())
    if kind is None:
        raise EventError(f"ce-type {event.get_type()!r} is not an inference request or response")
    event_id = event.get_id()
    if not event_id or len(event_id) > MAX_ID_CHARS or not event_id.isprintable():
        raise EventError(f"ce-id is not a printable id of 1 to {MAX_ID_CHARS} characters")
    service = event.get_extension("inferenceservicename")
    if not isinstance(service, str) or not is_model_name(service):
        raise EventError("ce-inferenceservicename is not a Kubernetes name")
    return LoggedEvent(kind, event_id, service, _json_object(event.get_data(), body), _digest(body))


def _json_object(data: Any, body: bytes) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    # The SDK decodes JSON only under a JSON content type, and KServe copies the caller's Content-Type
    # (which a client may leave out or get wrong) onto both events. The body is the V2 JSON either way.
    try:
        decoded = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise EventError("the body is not JSON") from None
    except RecursionError:  # `[[[[…` nested deeper than the parser recurses
        raise EventError("the body nests deeper than any V2 payload") from None
    if not isinstance(decoded, dict):
        raise EventError("the body is not a JSON object")
    return decoded


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300]
