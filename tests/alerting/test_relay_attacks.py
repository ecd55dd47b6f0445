"""What an attacker who can reach the relay's port tries, against the relay as the pod runs it.

The incident these tests keep from coming back: one forged POST of 5,000 alerts, with no credentials,
became 5,000 repository_dispatch events. Each test below sends what an attacker (or a misbehaving
client) would and counts what reaches the stand-in GitHub API.
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.parse

import pytest

from modelops_infra.runtime.dispatch_relay import DRIFT_ALERT, ERROR_RATE_ALERT
from tests.alerting.conftest import MODELS, RELAY_TOKEN, post
from tests.alerting.notifications import alert, body, forged, notification

DRIFT = alert(DRIFT_ALERT, model="credit-risk", release="stable", column="age")
CANDIDATE = alert(ERROR_RATE_ALERT, model="credit-risk", release="candidate")


# Credentials: Alertmanager presents the relay's bearer token; nothing else is read.


def test_the_forged_5000_alert_post_without_a_token_is_a_401_and_dispatches_nothing(relay, github):
    status, _ = post(f"{relay.url}/alerts", forged(5000), token=None)
    assert status == 401
    assert github.received == []


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        f"Bearer {RELAY_TOKEN[:-1]}",  # a prefix of the token
        f"Bearer {RELAY_TOKEN}x",  # the token and more
        "Bearer ",
        "Bearer",
        RELAY_TOKEN,  # the token without its scheme
        "Basic " + base64.b64encode(f"alertmanager:{RELAY_TOKEN}".encode()).decode(),
        f"Bearer {RELAY_TOKEN}\u00e9",  # a header byte beyond ASCII must not crash the comparison
    ],
)
def test_a_wrong_token_is_a_401_and_dispatches_nothing(relay, github, authorization):
    status, _ = post(f"{relay.url}/alerts", body(DRIFT), token=None, headers={"Authorization": authorization})
    assert status == 401
    assert github.received == []


def test_the_token_is_checked_before_the_body_is_read(relay, github):
    # Not JSON: a relay that parsed first would answer 400.
    assert post(f"{relay.url}/alerts", b"not json", token=None)[0] == 401
    assert post(f"{relay.url}/alerts", b"not json", token="wrong")[0] == 401


def test_a_refused_request_never_logs_the_token_it_was_sent(relay, github):
    post(f"{relay.url}/alerts", body(DRIFT), token="attacker-guess-0123456789")
    assert "attacker-guess" not in relay.log()
    assert RELAY_TOKEN not in relay.log()


# Size: the body is bounded before it is read.


def _claim_length(url: str, length: int, *, token: str) -> bytes:
    """Send only the headers of a POST whose body would be `length` bytes; return the first answer."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    head = (
        "POST /alerts HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Content-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
        connection.sendall(head.encode())
        return connection.recv(4096)  # a relay waiting for the body times out here


def test_a_body_over_256_kib_is_a_413_before_a_byte_of_it_is_read(relay, github):
    answer = _claim_length(relay.url, 256 * 1024 + 1, token=RELAY_TOKEN)
    assert answer.startswith(b"HTTP/1.0 413 ") or answer.startswith(b"HTTP/1.1 413 "), answer[:80]
    assert github.received == []


def test_a_body_of_exactly_256_kib_is_read(relay, github):
    payload = {**notification(DRIFT), "padding": ""}
    payload["padding"] = "x" * (256 * 1024 - len(json.dumps(payload)))
    padded = json.dumps(payload).encode()
    assert len(padded) == 256 * 1024
    status, text = post(f"{relay.url}/alerts", padded)
    assert status == 200, text
    assert len(github.received) == 1


def test_the_forged_5000_alert_post_with_the_token_is_a_413(relay, github):
    status, _ = post(f"{relay.url}/alerts", forged(5000))
    assert status == 413
    assert github.received == []


# Scope: one notification sends a handful of dispatches at most, and only for models that exist.


def test_a_notification_asking_for_more_than_5_dispatches_sends_5_and_says_which_were_dropped(relay, github):
    alerts = [alert(DRIFT_ALERT, model=m, release="stable", column="age") for m in MODELS] + [
        alert(ERROR_RATE_ALERT, model=m, release="candidate") for m in MODELS
    ]
    status, text = post(f"{relay.url}/alerts", body(*alerts))
    assert status == 200
    assert github.dispatched() == [
        *[{"event_type": "model-drift", "client_payload": {"model": m}} for m in MODELS],
        *[
            {"event_type": "model-rollback", "client_payload": {"model": m, "environment": "prod"}}
            for m in MODELS[:2]
        ],
    ]
    assert "dispatched=5" in text and "over_limit=1" in text
    assert "dropped over the limit of 5: model-rollback churn" in relay.log()


def test_a_model_outside_the_gitops_tree_is_ignored_and_counted(relay, github):
    unknown = alert(DRIFT_ALERT, model="retired-model", release="stable", column="age")
    status, text = post(f"{relay.url}/alerts", body(unknown, DRIFT))
    assert status == 200
    assert github.dispatched() == [{"event_type": "model-drift", "client_payload": {"model": "credit-risk"}}]
    assert "dispatched=1" in text and "unknown_models=1" in text
    assert "retired-model" in relay.log()


def test_as_many_alerts_as_fit_for_models_outside_the_gitops_tree_dispatch_nothing(relay, github):
    status, text = post(f"{relay.url}/alerts", forged(1700))
    assert status == 200, text
    assert github.received == []
    assert "dispatched=0" in text and "unknown_models=1700" in text


# Repeats: a group Alertmanager (or anyone) sends again within the window dispatches once.


def test_a_repeated_group_dispatches_once(relay, github):
    first = post(f"{relay.url}/alerts", body(DRIFT))
    second = post(f"{relay.url}/alerts", body(DRIFT))
    assert first[0] == second[0] == 200
    assert len(github.received) == 1
    assert "dispatched=1" in first[1]
    assert "dispatched=0" in second[1] and "repeated=1" in second[1]


def test_a_new_firing_of_the_same_alert_dispatches_again(relay, github):
    again = {**CANDIDATE, "startsAt": "2025-06-02T15:00:00.000Z"}  # resolved, then fired anew
    assert post(f"{relay.url}/alerts", body(CANDIDATE))[0] == 200
    assert post(f"{relay.url}/alerts", body(again))[0] == 200
    assert [r["event_type"] for r in github.dispatched()] == ["model-rollback", "model-rollback"]


def test_a_retried_notification_sends_only_what_did_not_go_through(relay, github):
    github.answers = [204, 403]  # the retrain goes out, the rollback is refused: a 502
    assert post(f"{relay.url}/alerts", body(DRIFT, CANDIDATE))[0] == 502
    status, text = post(f"{relay.url}/alerts", body(DRIFT, CANDIDATE))  # Alertmanager's retry
    assert status == 200
    assert [r["event_type"] for r in github.dispatched()] == [
        "model-drift",
        "model-rollback",
        "model-rollback",
    ]
    assert "dispatched=1" in text and "repeated=1" in text
