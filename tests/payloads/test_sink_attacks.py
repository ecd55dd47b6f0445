"""What a pod that can reach the sink might try: write elsewhere, store what it should not, grow it."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
import uuid

import pyarrow.parquet as pq
import pytest

from tests.payloads.agent import (
    REQUEST,
    RESPONSE,
    Agent,
    headers,
    read_rows,
    running_sink,
    v2_request,
    v2_response,
)


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attacked")
    extra = ("--flush-interval-s", "0.2", "--max-pending", "50", "--max-rows-per-event", "100")
    with running_sink(folder / "store", *extra, log=folder / "sink.log") as running:
        yield running


def _metric(sink, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


@pytest.mark.parametrize(
    "path",
    [
        "/payloads/../../etc/stable/3",
        "/payloads/credit-risk/stable/3/../../../x",
        "/payloads/credit-risk%2F..%2F..%2Fx/stable/3",
        "/payloads/Credit-Risk/stable/3",
        "/payloads/credit-risk/production/3",
        "/payloads/credit-risk/stable/3a",
        "/payloads/credit-risk/stable/1234567890",
        "/payloads/credit-risk/stable/3?model=other",
        "/payloads/credit-risk/stable",
        "/payloads/credit-risk/stable/3/",
    ],
)
def test_a_path_that_is_not_a_model_release_and_version_writes_nothing(sink, path):
    event_id = str(uuid.uuid4())
    agent = Agent(sink.port, path=path)
    for event_type, payload in ((REQUEST, v2_request({"age": [1]})), (RESPONSE, v2_response([1]))):
        assert agent.send(event_type, event_id, payload).status == 404
    time.sleep(0.5)
    assert not [row for row in read_rows(sink.store) if row["_request_id"] == event_id]
    assert sorted(p.name for p in sink.store.parent.iterdir()) == ["sink.log", "store"]


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/payloads/credit-risk/stable/3", "fraud-score"),  # another model's pod
        ("/payloads/credit-risk/stable/3", "credit-risk-candidate"),  # the candidate, into stable's rows
        ("/payloads/credit-risk/candidate/4", "credit-risk"),  # stable, into the candidate's rows
        ("/payloads/credit-risk/stable/3", "credit-risk-shadow"),  # no InferenceService of the platform
    ],
)
def test_only_the_inference_service_serving_the_paths_release_may_log_there(sink, path, service):
    event_id = str(uuid.uuid4())
    agent = Agent(sink.port, path=path)
    for event_type, payload in ((REQUEST, v2_request({"age": [1]})), (RESPONSE, v2_response([1]))):
        sent = agent.send(event_type, event_id, payload, service=service)
        assert sent.status == 403
        assert f"ce-inferenceservicename {service!r} does not serve" in sent.text
    time.sleep(0.5)
    assert not [row for row in read_rows(sink.store) if row["_request_id"] == event_id]


def test_an_input_cannot_forge_a_metadata_column_and_nothing_but_the_tensors_is_stored(sink):
    for name in ("_request_id", "_row", "_output.predict", "_model_version"):
        body = {"inputs": [{"name": name, "shape": [1], "datatype": "BYTES", "data": ["forged"]}]}
        assert sink.agent().send(REQUEST, str(uuid.uuid4()), body).status == 422
    event_id = str(uuid.uuid4())
    secret_headers = {**headers(REQUEST, event_id), "Authorization": "Bearer model-callers-secret"}
    agent = sink.agent()
    body = {**v2_request({"age": [7]}), "parameters": {"api_key": "not-a-feature"}}
    assert agent.post(json.dumps(body).encode(), secret_headers).status == 200
    agent.send(RESPONSE, event_id, v2_response([1]))
    deadline = time.monotonic() + 20
    while not (rows := [r for r in read_rows(sink.store) if r["_request_id"] == event_id]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert set(rows[0]) == {
        "_request_id",
        "_row",
        "_received_at",
        "_model_version",
        "_inference_service",
        "age",
        "_output.predict",
        "model",
        "release",
        "date",
        "hour",
    }
    stored = b"".join(p.read_bytes() for p in sink.store.rglob("*.parquet"))
    assert b"model-callers-secret" not in stored and b"not-a-feature" not in stored


def test_requests_that_never_get_a_response_are_evicted_and_counted_not_held_forever(sink):
    evicted_before = _metric(sink, "payload_sink_evicted_total")
    agent = sink.agent()
    for _ in range(80):  # --max-pending 50
        assert agent.send(REQUEST, str(uuid.uuid4()), v2_request({"age": [1]})).status == 200
    assert _metric(sink, "payload_sink_pending_events") <= 50
    assert _metric(sink, "payload_sink_evicted_total") - evicted_before >= 30


def test_rows_per_event_are_bounded_at_the_limit(sink):
    agent = sink.agent()
    assert agent.send(REQUEST, str(uuid.uuid4()), v2_request({"age": list(range(100))})).status == 200
    answer = agent.send(REQUEST, str(uuid.uuid4()), v2_request({"age": list(range(101))}))
    assert (answer.status, "101 rows, over the limit of 100" in answer.text) == (422, True)


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(sink):
    event_id = str(uuid.uuid4())
    body = json.dumps(v2_request({"age": [1]})).encode()
    padded = body + b" " * (4 * 1024 * 1024 - len(body))
    assert sink.agent().post(padded, headers(REQUEST, event_id)).status == 200
    with socket.create_connection(("127.0.0.1", sink.port), timeout=5) as connection:
        head = [
            "POST /payloads/credit-risk/stable/3 HTTP/1.1",
            "Host: sink",
            f"Content-Length: {len(padded) + 1}",
        ]
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        assert connection.recv(4096).startswith(b"HTTP/1.1 413")


def test_reusing_a_waiting_requests_id_for_another_request_pairs_neither_with_a_response(sink):
    event_id, control = str(uuid.uuid4()), str(uuid.uuid4())
    agent = sink.agent()
    assert agent.send(REQUEST, event_id, v2_request({"age": [1]})).status == 200
    assert agent.send(REQUEST, event_id, v2_request({"age": [666]})).status == 409
    assert agent.send(RESPONSE, event_id, v2_response([0])).status == 409  # whose answer is it?
    agent.pair(control, v2_request({"age": [2]}), v2_response([1]))
    deadline = time.monotonic() + 20
    while not [r for r in read_rows(sink.store) if r["_request_id"] == control]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert not [r for r in read_rows(sink.store) if r["_request_id"] == event_id]


def test_a_flood_of_distinct_columns_cannot_fail_other_callers_writes(sink):
    """A column sent as a number by one caller and as text by another gets a file of its own."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    agent = sink.agent()
    agent.pair(first, v2_request({"score_input": [1]}), v2_response([1]))
    agent.pair(second, v2_request({"score_input": ["text"]}), v2_response([1]))
    deadline = time.monotonic() + 20
    while True:
        files = list(sink.store.rglob("*.parquet"))
        found = {
            row["_request_id"]: row["score_input"]
            for path in files
            if "score_input" in pq.read_schema(path).names
            for row in pq.read_table(path).to_pylist()
        }
        if first in found and second in found:
            break
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    assert (found[first], found[second]) == (1, "text")


def test_with_a_token_every_post_needs_it_and_health_does_not(tmp_path):
    token = tmp_path / "token"
    token.write_text("sink-bearer-test-token\n")
    with running_sink(tmp_path / "store", "--token-file", str(token), log=tmp_path / "log") as sink:
        agent = sink.agent()
        body = json.dumps(v2_request({"age": [1]})).encode()
        for presented in (
            None,
            "Bearer wrong",
            "Basic sink-bearer-test-token",
            "Bearer sink-bearer-test-toke",
        ):
            sent = headers(REQUEST, "a") | ({"Authorization": presented} if presented else {})
            assert agent.post(body, sent).status == 401
        sent = headers(REQUEST, "a") | {"Authorization": "Bearer sink-bearer-test-token"}
        assert agent.post(body, sent).status == 200
        token.write_text("rotated")
        assert agent.post(body, sent).status == 401  # read at each request
        with urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/healthz", timeout=5) as response:
            assert response.status == 200


def test_a_length_that_is_a_digit_but_no_number_and_json_nested_too_deep_are_refused_in_one_line(sink):
    event_id = str(uuid.uuid4())
    superscript = sink.agent().post(b"{}", {**headers(REQUEST, event_id), "Content-Length": "\u00b2"})
    assert superscript.status in (400, 411)
    deep = b"[" * 200_000
    answer = sink.agent().post(deep, headers(REQUEST, str(uuid.uuid4())))
    assert answer.status == 400, answer


def _exchange_raw(port: int, raw: bytes) -> bytes:
    """Send `raw` on a new connection and read until the sink closes it."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        while chunk := connection.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /payloads/credit-risk/stable/3 HTTP/1.1\r\nHost: sink\r\nno colon here\r\n\r\n",
        b"POST /payloads/credit-risk/stable/3 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST /payloads/credit-risk/stable/3 HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ],
)
def test_a_request_the_http_parser_cannot_read_is_a_400_in_one_line_and_no_traceback(sink, raw):
    answer = _exchange_raw(sink.port, raw)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert body and b"\n" not in body.rstrip(b"\n")
    assert "Traceback" not in sink.log_text()


def test_a_head_over_64_kib_is_a_431_and_one_under_it_is_served(sink):
    head = "POST /payloads/credit-risk/stable/3 HTTP/1.1\r\nHost: sink\r\nX-Pad: "
    answer = _exchange_raw(sink.port, head.encode() + b"a" * (64 * 1024))  # never ends its head
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    body = json.dumps(v2_request({"age": [1]})).encode()
    padded = {**headers(REQUEST, str(uuid.uuid4())), "X-Pad": "a" * (60 * 1024)}
    assert sink.agent().post(body, padded).status == 200


def test_a_method_other_than_get_or_post_is_refused(sink):
    assert _exchange_raw(
        sink.port, b"PUT /payloads/credit-risk/stable/3 HTTP/1.1\r\nHost: sink\r\n\r\n"
    ).startswith(b"HTTP/1.1 405")


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bounded")
    extra = ("--max-connections", "4", "--read-timeout-s", "1")
    with running_sink(folder / "store", *extra, log=folder / "sink.log") as running:
        yield running


def _refused(sink, reason: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(f'payload_sink_refused_requests_total{{reason="{reason}"}} '):
                return float(line.split()[1])
    return 0.0


def test_a_connection_past_the_limit_is_closed_at_once_and_counted_and_a_freed_slot_is_served(bounded):
    before = _refused(bounded, "connections")
    held = [socket.create_connection(("127.0.0.1", bounded.port), timeout=5) for _ in range(4)]
    try:
        time.sleep(0.3)  # accepted by the sink's loop
        with socket.create_connection(("127.0.0.1", bounded.port), timeout=5) as extra:
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: sink\r\n\r\n")
                answer = extra.recv(4096)
            except ConnectionResetError:
                answer = b""
        assert answer == b""  # closed without an answer, as a full accept queue would
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.3)
    with urllib.request.urlopen(f"http://127.0.0.1:{bounded.port}/healthz", timeout=5) as response:
        assert response.status == 200
    assert _refused(bounded, "connections") == before + 1


@pytest.mark.parametrize(
    "partial",
    [
        b"",  # connects and says nothing
        b"POST /payloads/credit-risk/stable/3 HTTP/1.1\r\nHost: sink\r\nContent-Le",  # stops in its head
        b"POST /payloads/credit-risk/stable/3 HTTP/1.1\r\nHost: sink\r\nContent-Length: 100\r\n\r\n{",  # body
    ],
)
def test_a_client_that_stops_sending_is_closed_after_the_read_timeout(bounded, partial):
    with socket.create_connection(("127.0.0.1", bounded.port), timeout=10) as connection:
        connection.sendall(partial)
        started = time.monotonic()
        assert connection.recv(4096) == b""
        waited = time.monotonic() - started
    assert 0.9 <= waited < 5, waited  # --read-timeout-s 1


def test_a_keep_alive_connection_that_keeps_sending_is_not_closed_by_the_read_timeout(bounded):
    agent = bounded.agent()
    for _ in range(4):  # 2 s in all, each request within the 1 s timeout of the last
        assert agent.send(REQUEST, str(uuid.uuid4()), v2_request({"age": [1]})).status == 200
        time.sleep(0.5)
