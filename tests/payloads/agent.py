"""Sends events the way KServe's agent does (kserve v0.16 pkg/logger/worker.go, sdk-go binary mode),
and starts the real sink in a subprocess on a loopback port."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from tests.tools import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def headers(event_type: str, event_id: str, *, service: str = "credit-risk") -> dict[str, str]:
    """sdk-go writes canonical header names; Content-Type is the inference request's own."""
    return {
        "Ce-Specversion": "1.0",
        "Ce-Id": event_id,
        "Ce-Type": event_type,
        "Ce-Source": f"{service}-predictor-6d4f7c9b8-x2x9q",
        "Ce-Time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "Ce-Inferenceservicename": service,
        "Ce-Namespace": "models-dev",
        "Ce-Component": "predictor",
        "Ce-Endpoint": "",
        "Ce-Metadata": "{}",
        "Content-Type": "application/json",
    }


def v2_request(columns: dict[str, list[Any]]) -> dict[str, Any]:
    """One named input per column, as MLServer's pandas codec takes a frame."""
    inputs = []
    for name, values in columns.items():
        datatype = (
            "BYTES" if isinstance(values[0], str) else "FP64" if isinstance(values[0], float) else "INT64"
        )
        inputs.append({"name": name, "shape": [len(values), 1], "datatype": datatype, "data": values})
    return {"inputs": inputs}


def v2_response(predictions: list[int], *, probabilities: list[list[float]] | None = None) -> dict[str, Any]:
    outputs: list[dict[str, Any]] = [
        {"name": "predict", "shape": [len(predictions), 1], "datatype": "INT64", "data": predictions}
    ]
    if probabilities is not None:
        flat = [p for row in probabilities for p in row]
        outputs.append(
            {"name": "predict_proba", "shape": [len(probabilities), 2], "datatype": "FP64", "data": flat}
        )
    return {"model_name": "credit-risk", "id": str(uuid.uuid4()), "outputs": outputs}


@dataclass
class Answer:
    status: int
    text: str


class Agent:
    """One keep-alive connection, as the agent's Go HTTP client keeps."""

    def __init__(self, port: int, *, path: str = "/payloads/credit-risk/stable/3") -> None:
        self.port = port
        self.path = path
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def post(self, body: bytes, headers: dict[str, str], *, path: str | None = None) -> Answer:
        try:
            self.connection.request("POST", path or self.path, body=body, headers=headers)
            response = self.connection.getresponse()
            # An accepted event's reply has no body: the sink says what it did in a header.
            text = response.read().decode() or response.getheader("payload-outcome", "")
        except (http.client.HTTPException, OSError):
            self.connection.close()  # a refused body closes the connection; the next call reconnects
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return Answer(response.status, text.strip())

    def send(self, event_type: str, event_id: str, payload: dict[str, Any], **kwargs: Any) -> Answer:
        service = kwargs.pop("service", "credit-risk")
        return self.post(
            json.dumps(payload).encode(), headers(event_type, event_id, service=service), **kwargs
        )

    def pair(self, event_id: str, request: dict[str, Any], response: dict[str, Any], **kwargs: Any) -> None:
        for event_type, payload in ((REQUEST, request), (RESPONSE, response)):
            answer = self.send(event_type, event_id, payload, **kwargs)
            assert answer.status == 200, answer

    def close(self) -> None:
        self.connection.close()


@dataclass
class RunningSink:
    process: subprocess.Popen[bytes]
    port: int
    store: Path
    log: Path

    def agent(self, **kwargs: Any) -> Agent:
        return Agent(self.port, **kwargs)

    def stop(self, timeout_s: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_sink(store: Path, *extra: str, log: Path) -> Iterator[RunningSink]:
    port = free_port()
    command = [sys.executable, "-m", "modelops.payloads.sink", "--store", str(store), "--host", "127.0.0.1"]
    command += ["--port", str(port), *extra]
    if "--token-file" not in extra:
        command.append("--allow-unauthenticated")
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ)
        )
    sink = RunningSink(process, port, store, log)
    try:
        wait_ready(
            f"http://127.0.0.1:{port}/healthz", process, what="the payload sink", timeout_s=30, log=log
        )
        yield sink
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def read_rows(store: Path) -> list[dict[str, Any]]:
    """Every row in the store, as the monitor reads it (Hive partitions), ordered by id and row."""
    files = [p for p in store.rglob("*.parquet") if not p.name.startswith(".")]
    if not files:
        return []
    table = ds.dataset(store, format="parquet", partitioning="hive").to_table()
    rows = table.to_pylist()
    return sorted(rows, key=lambda row: (row["_request_id"], row["_row"]))
