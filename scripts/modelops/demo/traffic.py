"""A client of a model's route: V2 requests built from a frame's rows, each sent to the release the
HTTPRoute's weights pick, and logged (request and response) by each release's agent stand-in."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelops.demo.kserve_agent import CONTENT_TYPE, KServeAgent
from modelops.serving.v2 import request_from_frame

if TYPE_CHECKING:
    import pandas as pd

INFER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Backend:
    role: str
    infer_url: str  # the release's server, on the route's path: .../v2/models/<model>/infer
    weight: int
    agent: KServeAgent  # logs to the release's own logger URL


@dataclass
class Sent:
    """What one run of the client did, by release."""

    requests: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)  # rows answered 200, so logged with their response
    failed: Counter[str] = field(default_factory=Counter)  # requests answered otherwise


def weighted_order(weights: Mapping[str, int], count: int) -> list[str]:
    """`count` picks among `weights`' keys in proportion to their weights, spread evenly (smooth
    weighted round robin, as nginx balances): with 75/25, one request in four goes to the second,
    whatever `count` is. Deterministic, so a run's split is known before it starts."""
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("no backend takes traffic: every weight is 0")
    current = dict.fromkeys(weights, 0)
    picks = []
    for _ in range(count):
        for key, weight in weights.items():
            current[key] += weight
        chosen = max(current, key=lambda key: current[key])
        current[chosen] -= total
        picks.append(chosen)
    return picks


def shifted(frame: pd.DataFrame, *, column: str, factor: float) -> pd.DataFrame:
    """`frame` with one input's values scaled by `factor`: the upstream change the monitor must catch
    (a currency or unit changed, a feature pipeline broke)."""
    if column not in frame.columns:
        raise ValueError(f"no column {column!r} to shift")
    moved = frame.copy()
    moved[column] = moved[column] * factor
    return moved


def _infer(url: str, body: bytes) -> tuple[int, bytes]:
    """POST one V2 request; (status, raw body). A connection that fails is tried once more: nothing is
    logged before the answer, so a retry logs nothing twice."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": CONTENT_TYPE}, method="POST")
    try:
        return _post(request)
    except OSError:  # refused or reset: the server did not answer (its answers, errors too, return)
        return _post(request)


def _post(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=INFER_TIMEOUT_S) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:  # an answer, not a failure to reach the server
        return int(error.code), error.read()


def send_frame(frame: pd.DataFrame, backends: Sequence[Backend], *, rows_per_request: int) -> Sent:
    """Every row of `frame`, `rows_per_request` at a time, through the route to the release its weights
    pick; each answered request is logged by that release's agent."""
    if rows_per_request < 1:
        raise ValueError("rows_per_request must be at least 1")
    by_role = {backend.role: backend for backend in backends}
    starts = range(0, len(frame), rows_per_request)
    order = weighted_order({b.role: b.weight for b in backends}, len(starts))
    sent = Sent()
    for start, role in zip(starts, order, strict=True):
        chunk = frame.iloc[start : start + rows_per_request]
        backend = by_role[role]
        body = json.dumps(request_from_frame(chunk)).encode()
        status, answer = _infer(backend.infer_url, body)
        backend.agent.log(body, answer, status=status)
        sent.requests[role] += 1
        if status == 200:
            sent.rows[role] += len(chunk)
        else:
            sent.failed[role] += 1
    return sent
