"""The real sink in its own process on a loopback port, sent events over HTTP as KServe's agent sends them."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.payloads.agent import REQUEST, RESPONSE, headers, read_rows, running_sink, v2_request, v2_response

FEATURES = {"age": [31, 40], "job": ["skilled", "unskilled"], "amount": [1200.0, 3.5]}


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sink")
    with running_sink(folder / "store", "--flush-interval-s", "0.2", log=folder / "sink.log") as running:
        yield running


def _new_id() -> str:
    return str(uuid.uuid4())


def _rows_of(store: Path, event_id: str, *, count: int, timeout_s: float = 20.0) -> list[dict]:
    """The rows of one request once `count` of them are written (the sink flushes every 0.2 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = [row for row in read_rows(store) if row["_request_id"] == event_id]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_a_request_and_its_response_become_one_row_per_predicted_row_in_the_hours_partition(sink):
    event_id, before = _new_id(), datetime.now(UTC)
    agent = sink.agent()
    agent.pair(event_id, v2_request(FEATURES), v2_response([1, 0], probabilities=[[0.2, 0.8], [0.9, 0.1]]))
    rows = _rows_of(sink.store, event_id, count=2)
    assert [(r["_row"], r["age"], r["job"], r["amount"]) for r in rows] == [
        (0, 31, "skilled", 1200.0),
        (1, 40, "unskilled", 3.5),
    ]
    assert [(r["_output.predict"], r["_output.predict_proba.1"]) for r in rows] == [(1, 0.8), (0, 0.1)]
    assert {(r["model"], r["release"], r["_model_version"], r["_inference_service"]) for r in rows} == {
        ("credit-risk", "stable", "3", "credit-risk")
    }
    received = rows[0]["_received_at"]
    assert before - (before - before.replace(microsecond=0)) <= received <= datetime.now(UTC)
    folder = f"date={received:%Y-%m-%d}/hour={received:%H}"
    files = list(sink.store.glob(f"model=credit-risk/release=stable/{folder}/part-*.parquet"))
    assert files, "no file in the request's hour partition"


def test_a_response_that_arrives_before_its_request_is_joined_all_the_same(sink):
    event_id = _new_id()
    agent = sink.agent()
    assert agent.send(RESPONSE, event_id, v2_response([1])).text == "held until its pair arrives"
    assert agent.send(REQUEST, event_id, v2_request({"age": [55]})).text == "paired"
    assert [(r["age"], r["_output.predict"]) for r in _rows_of(sink.store, event_id, count=1)] == [(55, 1)]


def test_an_accepted_event_is_answered_in_its_head_alone_with_the_outcome_in_a_header(sink):
    # The agent reads the status; an empty body lets the reply go out in one write (app._post).
    event_id = _new_id()
    connection = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=10)
    try:
        body = json.dumps(v2_response([1])).encode()
        connection.request(
            "POST", "/payloads/credit-risk/stable/3", body=body, headers=headers(RESPONSE, event_id)
        )
        response = connection.getresponse()
        assert (response.status, response.read(), response.getheader("payload-outcome")) == (
            200,
            b"",
            "held until its pair arrives",
        )
    finally:
        connection.close()


def test_redelivered_events_write_one_row_set_also_when_they_come_after_the_flush(sink):
    event_id = _new_id()
    agent = sink.agent()
    request, response = v2_request({"age": [20, 21]}), v2_response([0, 1])
    agent.pair(event_id, request, response)
    assert agent.send(REQUEST, event_id, request).text == "duplicate: already received"
    assert len(_rows_of(sink.store, event_id, count=2)) == 2  # written
    for _ in range(2):
        agent.pair(event_id, request, response)  # redelivered after the flush, in either order
    assert agent.send(RESPONSE, event_id, response).status == 200
    time.sleep(1.0)  # five flush intervals
    assert len(_rows_of(sink.store, event_id, count=3, timeout_s=0)) == 2


def test_the_same_id_at_stable_and_candidate_is_kept_for_both_so_mirrored_traffic_can_be_compared(sink):
    event_id = _new_id()
    sink.agent().pair(event_id, v2_request({"age": [30]}), v2_response([1]))
    shadow = sink.agent(path="/payloads/credit-risk/candidate/4")
    shadow.pair(event_id, v2_request({"age": [30]}), v2_response([0]), service="credit-risk-candidate")
    rows = _rows_of(sink.store, event_id, count=2)
    assert sorted((r["release"], r["_model_version"], r["_output.predict"]) for r in rows) == [
        ("candidate", "4", 0),
        ("stable", "3", 1),
    ]


@pytest.mark.parametrize(
    ("event_headers", "body", "status", "reason"),
    [
        ({"Ce-Specversion": "1.0"}, b"{}", 400, "header ce-id is missing or empty"),
        ({}, b"{}", 400, "not a CloudEvent in binary mode"),
        (headers(REQUEST, "x"), b"{not json", 400, "the body is not JSON"),
        (headers(REQUEST, "x"), b'{"inputs": {}}', 422, "request: 'inputs' is not a non-empty list"),
        (
            headers(REQUEST, "x"),
            json.dumps(
                {"inputs": [{"name": "_request_id", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}
            ),
            422,
            "starts with '_'",
        ),
    ],
)
def test_a_malformed_event_is_a_4xx_with_a_one_line_reason(sink, event_headers, body, status, reason):
    answer = sink.agent().post(body.encode() if isinstance(body, str) else body, event_headers)
    assert answer.status == status
    assert reason in answer.text and "\n" not in answer.text


def test_a_response_with_other_rows_than_its_request_is_refused_not_misaligned(sink):
    event_id = _new_id()
    agent = sink.agent()
    agent.send(REQUEST, event_id, v2_request({"age": [1, 2, 3]}))
    answer = agent.send(RESPONSE, event_id, v2_response([1]))
    assert (answer.status, answer.text) == (422, "the response has 1 rows, its request 3")


def test_a_body_over_4_mib_is_refused_before_it_is_read(sink):
    with socket.create_connection(("127.0.0.1", sink.port), timeout=5) as connection:
        lines = ["POST /payloads/credit-risk/stable/3 HTTP/1.1", "Host: sink", "Content-Length: 4194305"]
        lines += [f"{name}: {value}" for name, value in headers(REQUEST, "big").items()]
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while chunk := connection.recv(4096):  # answered at once, though no body byte was sent, and
            received += chunk  # closed: the body would not be read (a hang here times out in 5 s)
    answer = received.decode()
    assert answer.startswith("HTTP/1.1 413") and "connection: close" in answer.lower()  # names: any case


def test_a_body_without_content_length_is_refused(sink):
    with socket.create_connection(("127.0.0.1", sink.port), timeout=5) as connection:
        connection.sendall(
            b"POST /payloads/credit-risk/stable/3 HTTP/1.1\r\nHost: sink\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        assert connection.recv(4096).startswith(b"HTTP/1.1 411")


def test_metrics_count_events_rows_and_duplicates(sink):
    event_id = _new_id()
    agent = sink.agent()
    agent.pair(event_id, v2_request({"age": [1, 2]}), v2_response([1, 1]))
    agent.send(REQUEST, event_id, v2_request({"age": [1, 2]}))
    _rows_of(sink.store, event_id, count=2)
    with urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values["payload_sink_duplicates_total"] >= 1
    assert values["payload_sink_rows_written_total"] >= 2
    assert values['payload_sink_events_total{kind="request",outcome="duplicate"}'] >= 1
    assert values["payload_sink_flush_duration_seconds_count"] >= 1
    assert "payload_sink_evicted_total" in values


def test_sigterm_writes_the_rows_it_holds_and_a_pair_completed_while_it_drains(tmp_path):
    store = tmp_path / "store"
    with running_sink(store, "--flush-interval-s", "3600", "--drain-s", "10", log=tmp_path / "log") as sink:
        agent = sink.agent()
        agent.pair("held", v2_request({"age": [1, 2, 3]}), v2_response([0, 1, 0]))
        agent.send(REQUEST, "answered-while-draining", v2_request({"age": [9]}))
        assert read_rows(store) == []  # nothing is due for an hour
        sink.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(urllib.error.HTTPError) as stopping:
            urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/healthz", timeout=5)
        assert stopping.value.code == 503
        agent.send(RESPONSE, "answered-while-draining", v2_response([1]))
        assert sink.process.wait(timeout=30) == 0
    rows = read_rows(store)
    assert [(r["_request_id"], r["age"]) for r in rows] == [
        ("answered-while-draining", 9),
        ("held", 1),
        ("held", 2),
        ("held", 3),
    ]
    assert "stopped; every joined row is written" in (tmp_path / "log").read_text()


def test_an_unusable_store_or_a_missing_auth_decision_stops_the_sink_at_start_with_one_line(tmp_path):
    for extra, message in (
        (["--store", "gs://bucket/x", "--allow-unauthenticated"], "only a local folder or s3"),
        (["--store", str(tmp_path)], "one of the arguments --token-file --allow-unauthenticated is required"),
        (["--store", str(tmp_path), "--token-file", str(tmp_path / "absent")], "--token-file cannot be read"),
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "modelops.payloads.sink", "--port", "0", *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 2, completed.stderr
        assert message in completed.stderr and "Traceback" not in completed.stderr
