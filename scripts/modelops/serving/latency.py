"""The latency gate's measurement: the candidate's artifact on the platform's MLServer, single-row
requests from a real HTTP client, and the p50/p95/p99 that MLServer's own request-duration histogram
gives, interpolated as Prometheus does for the live alert. Gate and alert measure the same thing: the
server's time per request on the same runtime, in the same buckets.
"""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.gates.latency import LatencyMeasurement
from modelops.serving import contract
from modelops.serving.histogram import Histogram, quantile, request_durations
from modelops.serving.mlserver import RunningServer, running
from modelops.serving.v2 import request_from_frame

if TYPE_CHECKING:
    import pandas as pd

REQUEST_TIMEOUT_S = 30.0


def _measurement(histogram: Histogram, *, failed: int) -> LatencyMeasurement:
    p50, p95, p99 = (1000 * quantile(q, histogram) for q in (0.5, 0.95, 0.99))
    return LatencyMeasurement(int(histogram.count), p50, p95, p99, failed)


def served_as(model: str) -> dict[str, object]:
    """The InferenceService fields the runtime's environment depends on, as every release renders them
    (rule CKV_MODELOPS_18): the model's own name."""
    return {
        "metadata": {"name": model},
        "spec": {
            "predictor": {"model": {"runtime": contract.RUNTIME, "env": contract.served_model_env(model)}}
        },
    }


def _scrape(server: RunningServer) -> Histogram:
    with urllib.request.urlopen(server.metrics_url, timeout=REQUEST_TIMEOUT_S) as response:
        return request_durations(response.read().decode())


def _send(connection: http.client.HTTPConnection, path: str, body: bytes) -> int:
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()  # drain it: the connection is reused, as a gateway's pool reuses it
    return response.status


def measure_latency(
    artifact_dir: Path,
    *,
    model: str,
    rows: pd.DataFrame,
    requests: int,
    warmup: int,
    log: Path,
    attempts: int = 1,
    enough: Callable[[LatencyMeasurement], bool] = lambda _: True,
) -> list[LatencyMeasurement]:
    """Serve `artifact_dir` as `model` and time `requests` single-row predictions after `warmup`; time
    another batch on the same server, up to `attempts`, while a batch is not `enough`.

    A shared CI runner's other work only ever adds to a request's time, so a later, quieter batch
    is the closer estimate of what the model costs on a node of its own."""
    bodies = [json.dumps(request_from_frame(rows.iloc[[i]])).encode() for i in range(len(rows))]
    path = f"/v2/models/{model}/infer"
    with running(served_as(model), artifact_dir=artifact_dir, log=log) as server:
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT_S)
        try:
            for i in range(warmup):
                _send(connection, path, bodies[i % len(bodies)])
            batches: list[LatencyMeasurement] = []
            while len(batches) < attempts and not (batches and enough(batches[-1])):
                before = _scrape(server)
                failed = sum(_send(connection, path, bodies[i % len(bodies)]) != 200 for i in range(requests))
                batches.append(_measurement(_scrape(server).minus(before), failed=failed))
        finally:
            connection.close()
    return batches
