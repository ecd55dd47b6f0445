"""The loop's own pieces, each against what it stands in for: the agent stand-in against the sink's
parser and the real sink, the notification against the relay's reading of it, the alert condition on
both sides of its threshold, and the route's split."""

from __future__ import annotations

import json
import math
import urllib.request
from datetime import UTC, datetime

import pandas as pd
import pytest

from modelops.demo.kserve_agent import KServeAgent, logged_event
from modelops.demo.loop import DRIFT_GROUP_BY, PublishedDrift, demo_versions, firing
from modelops.demo.proposal import FiringAlert, notification
from modelops.demo.sink_process import RunningSink
from modelops.demo.traffic import shifted, weighted_order
from modelops.errors import InputError
from modelops.payloads.events import REQUEST_TYPE, RESPONSE_TYPE, parse_event
from modelops_infra.runtime.dispatch_relay import RETRAIN_EVENT, plan
from tests.alerting import notifications
from tests.payloads.agent import headers as kserve_headers
from tests.payloads.agent import running_sink, v2_request, v2_response


def test_the_route_sends_each_release_its_weight_spread_evenly():
    assert weighted_order({"stable": 75, "candidate": 25}, 4).count("candidate") == 1
    picks = weighted_order({"stable": 75, "candidate": 25}, 30)
    assert picks.count("candidate") in (7, 8)
    assert "candidate" not in picks[:1] and picks[:8].count("candidate") == 2  # spread, not bunched
    assert set(weighted_order({"stable": 100, "candidate": 0}, 10)) == {"stable"}
    with pytest.raises(ValueError, match="every weight is 0"):
        weighted_order({"stable": 0}, 1)


def test_a_shift_scales_one_column_and_leaves_the_input_frame_alone():
    frame = pd.DataFrame({"credit_amount": [100.0, 250.0], "age": [30.0, 40.0]})
    moved = shifted(frame, column="credit_amount", factor=2.0)
    assert moved["credit_amount"].tolist() == [200.0, 500.0] and moved["age"].tolist() == [30.0, 40.0]
    assert frame["credit_amount"].tolist() == [100.0, 250.0]
    with pytest.raises(ValueError, match="no column 'amount'"):
        shifted(frame, column="amount", factor=2.0)


@pytest.mark.parametrize("event_type", [REQUEST_TYPE, RESPONSE_TYPE])
def test_the_agent_stand_in_sends_kserves_headers_and_the_sink_reads_them(event_type):
    body = json.dumps(v2_request({"age": [31]})).encode()
    sent, payload = logged_event(
        event_type, "id-1", body, inference_service="credit-risk", namespace="models-prod"
    )
    # The same header names as tests/payloads' rendering of KServe's agent (sdk-go: case differs only).
    assert {name.lower() for name in sent} == {name.lower() for name in kserve_headers(event_type, "id-1")}
    assert "authorization" not in {name.lower() for name in sent}
    assert payload == body  # the inference body itself, byte for byte
    event = parse_event(sent.items(), payload)
    assert (event.kind, event.id, event.inference_service) == (
        event_type.rsplit(".", 1)[1],
        "id-1",
        "credit-risk",
    )


def _sink_counts(sink) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("payload_sink_events_total{")
    }


def test_a_failed_inference_logs_its_request_alone_as_the_agent_does(tmp_path):
    with running_sink(tmp_path / "store", log=tmp_path / "sink.log") as sink:
        url = RunningSink(f"http://127.0.0.1:{sink.port}", sink.store, sink.log).local(
            "http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads/credit-risk/stable/1"
        )
        assert url == f"http://127.0.0.1:{sink.port}/payloads/credit-risk/stable/1"
        agent = KServeAgent(url, inference_service="credit-risk", namespace="models-prod")
        request = json.dumps(v2_request({"age": [31]})).encode()
        failed = agent.log(request, b'{"error": "boom"}', status=500)
        answered = agent.log(request, json.dumps(v2_response([1])).encode(), status=200)
        agent.close()
        counts = _sink_counts(sink)
    assert (failed.response_logged, answered.response_logged) == (False, True)
    assert sum(v for k, v in counts.items() if 'kind="request"' in k) == 2
    assert sum(v for k, v in counts.items() if 'kind="response"' in k) == 1


def test_drift_alerts_fire_above_the_threshold_on_drifted_columns_only():
    published = {
        ("stable", "age"): PublishedDrift(0.1, detected=True),
        ("stable", "credit_amount"): PublishedDrift(0.1001, detected=True),
        ("stable", "duration"): PublishedDrift(0.3, detected=False),  # past the threshold on noise alone
        ("candidate", "purpose"): PublishedDrift(math.inf, detected=True),
    }
    fired = firing(published, threshold=0.1, model="credit-risk", namespace="models-prod")
    assert [(a.labels["release"], a.labels["column"]) for a in fired] == [
        ("candidate", "purpose"),
        ("stable", "credit_amount"),
    ]


def test_the_notification_is_shaped_like_alertmanagers_and_the_relay_proposes_one_retrain():
    alerts = [
        FiringAlert({"alertname": "ModelDriftHigh", "namespace": "models-prod", "model": "credit-risk",
                     "release": release, "column": column})
        for release, column in (("stable", "credit_amount"), ("candidate", "credit_amount"))
    ]  # fmt: skip
    body = notification(alerts, group_by=DRIFT_GROUP_BY, started=datetime.now(UTC))
    # tests/alerting holds its notifications equal to a real Alertmanager's.
    reference = notifications.notification(notifications.alert("ModelDriftHigh", model="credit-risk"))
    assert set(body) == set(reference) and set(body["alerts"][0]) == set(reference["alerts"][0])
    assert body["groupLabels"] == {
        "alertname": "ModelDriftHigh",
        "namespace": "models-prod",
        "model": "credit-risk",
    }
    proposed = plan(body, environment="prod", models={"credit-risk"})
    assert [d.body for d in proposed.dispatches] == [
        {"event_type": RETRAIN_EVENT, "client_payload": {"model": "credit-risk"}}
    ]


def test_the_demo_loop_needs_the_demos_registry_and_says_so():
    with pytest.raises(InputError, match="run `make demo` first"):
        demo_versions("no-such-model")
