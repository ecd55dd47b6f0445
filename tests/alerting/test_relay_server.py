"""The relay as the pod runs it, between an Alertmanager-shaped client and a stand-in GitHub API."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from modelops_infra.runtime.dispatch_relay import (
    DRIFT_ALERT,
    ERROR_RATE_ALERT,
    GitHub,
    GitHubRefused,
    send,
)
from tests.alerting.conftest import (
    ENVIRONMENT,
    REPOSITORY,
    TOKEN,
    RelayFiles,
    post,
    relay_env,
    start_relay,
    wait_healthy,
)
from tests.alerting.notifications import alert, body
from tests.tools import free_port

DRIFT = alert(DRIFT_ALERT, model="credit-risk", release="stable", column="age")
CANDIDATE = alert(ERROR_RATE_ALERT, model="credit-risk", release="candidate")


def test_healthz_answers_ok(relay):
    with urllib.request.urlopen(f"{relay.url}/healthz", timeout=5) as response:
        assert (response.status, response.read()) == (200, b"ok\n")


def test_a_notification_becomes_dispatches_with_githubs_headers(relay, github):
    status, _ = post(f"{relay.url}/alerts", body(DRIFT, CANDIDATE))
    assert status == 200
    assert github.dispatched() == [
        {"event_type": "model-drift", "client_payload": {"model": "credit-risk"}},
        {
            "event_type": "model-rollback",
            "client_payload": {"model": "credit-risk", "environment": ENVIRONMENT},
        },
    ]
    for request in github.received:
        assert (request.method, request.path) == ("POST", f"/repos/{REPOSITORY}/dispatches")
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["content-type"] == "application/json"


def test_a_refusing_github_is_a_502_so_alertmanager_retries(relay, github):
    github.status = 403
    status, _ = post(f"{relay.url}/alerts", body(DRIFT))
    assert status == 502
    assert len(github.received) == 1  # a 4xx is not retried: the same token would be refused again
    assert "GitHub answered 403" in relay.log()


def test_a_failing_github_is_retried_once_then_a_502(relay, github):
    github.status = 503
    status, _ = post(f"{relay.url}/alerts", body(DRIFT))
    assert status == 502
    assert len(github.received) == 2


def test_one_transient_failure_is_absorbed_by_the_retry(relay, github):
    github.answers = [502]
    status, _ = post(f"{relay.url}/alerts", body(CANDIDATE))
    assert status == 200
    assert [r["event_type"] for r in github.dispatched()] == ["model-rollback", "model-rollback"]


def test_a_redirect_is_not_followed_with_the_token(relay, github):
    github.status, github.headers = 307, {"Location": f"{github.url}/elsewhere"}
    status, _ = post(f"{relay.url}/alerts", body(DRIFT))
    assert status == 502
    assert [r.path for r in github.received] == [f"/repos/{REPOSITORY}/dispatches"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"\xff\xfe", b"[]", b'{"version": "4"}', b'{"alerts": []}'],
)
def test_a_body_that_is_not_alertmanagers_json_is_a_400(relay, github, raw):
    status, text = post(f"{relay.url}/alerts", raw)
    assert status == 400, text
    assert github.received == []


def test_a_notification_with_nothing_to_do_is_accepted_and_sends_nothing(relay, github):
    stable = alert(ERROR_RATE_ALERT, model="credit-risk", release="stable")
    resolved = alert(DRIFT_ALERT, status="resolved", model="credit-risk", release="stable", column="age")
    status, text = post(f"{relay.url}/alerts", body(stable, resolved))
    assert (status, text) == (200, "dispatched=0 repeated=0 over_limit=0 unknown_models=0\n")
    assert github.received == []


def test_only_post_alerts_and_get_healthz_exist(relay, github):
    assert post(f"{relay.url}/other", body(DRIFT))[0] == 404
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{relay.url}/alerts", timeout=5)
    assert refused.value.code in (404, 501)
    assert github.received == []


def test_a_rotated_token_is_used_without_a_restart(relay, github):
    relay.files.github_token.write_text("github_pat_rotated\n")
    assert post(f"{relay.url}/alerts", body(DRIFT))[0] == 200
    assert github.received[0].headers["authorization"] == "Bearer github_pat_rotated"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"MODELOPS_ENVIRONMENT": ""}, "MODELOPS_ENVIRONMENT"),
        ({"GITHUB_REPOSITORY": "modelops-platform"}, "GITHUB_REPOSITORY"),
        ({"GITHUB_API_URL": "http://api.github.com"}, "is not https"),
        ({"GITHUB_TOKEN_FILE": "/nonexistent/token"}, "token cannot be read"),
        ({"RELAY_AUTH_TOKEN_FILE": ""}, "RELAY_AUTH_TOKEN_FILE"),
        ({"RELAY_AUTH_TOKEN_FILE": "/nonexistent/token"}, "RELAY_AUTH_TOKEN_FILE"),
        ({"RELAY_MODELS_FILE": "/nonexistent/models"}, "RELAY_MODELS_FILE"),
    ],
)
def test_the_relay_refuses_to_start_misconfigured(stand_in, tmp_path, change, reason):
    env = {**relay_env(stand_in.url, RelayFiles.write(tmp_path), free_port()), **change}
    log = tmp_path / "relay.log"
    process = start_relay(env, log)
    try:
        assert process.wait(timeout=15) == 2
    finally:
        if process.poll() is None:
            process.kill()
    assert reason in log.read_text()
    assert TOKEN not in log.read_text()


def test_the_token_never_reaches_the_log(relay, github):
    github.status = 401
    post(f"{relay.url}/alerts", body(DRIFT))
    assert TOKEN not in relay.log()


@pytest.mark.parametrize(
    ("file", "content", "reason"),
    [
        ("relay_token", "\n", "the relay's own token is empty"),
        ("models", "credit-risk\nCredit Risk\n", "is not a model name"),
    ],
)
def test_the_relay_refuses_to_start_with_an_empty_token_or_a_bad_model_list(
    stand_in, tmp_path, file, content, reason
):
    files = RelayFiles.write(tmp_path)
    getattr(files, file).write_text(content)
    log = tmp_path / "relay.log"
    process = start_relay(relay_env(stand_in.url, files, free_port()), log)
    try:
        assert process.wait(timeout=15) == 2
    finally:
        if process.poll() is None:
            process.kill()
    assert reason in log.read_text()


def test_a_github_that_does_not_answer_is_given_up_on_after_two_bounded_attempts(stand_in, github):
    github.delay_s = 3.0
    hub = GitHub(REPOSITORY, lambda: TOKEN, api_url=github.url, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(GitHubRefused, match="no answer from GitHub"):
        send({"event_type": "model-drift", "client_payload": {"model": "credit-risk"}}, hub)
    assert time.monotonic() - started < 2.9  # two 0.5 s attempts and the pause between them
    assert len(github.received) == 2


def test_sigterm_lets_a_dispatch_in_flight_finish_and_answer(relay, github):
    github.delay_s = 2.0  # GitHub is slow: the dispatch is in flight when the pod is told to stop
    answer: list[tuple[int, str]] = []
    poster = threading.Thread(target=lambda: answer.append(post(f"{relay.url}/alerts", body(DRIFT))))
    poster.start()
    github.wait_for(1)
    relay.process.terminate()
    poster.join(timeout=15)
    assert relay.process.wait(timeout=15) == 0
    assert answer and answer[0][0] == 200, relay.log()
    assert len(github.received) == 1


def test_the_relay_stops_cleanly_on_sigterm(stand_in, tmp_path):
    port = free_port()
    process = start_relay(relay_env(stand_in.url, RelayFiles.write(tmp_path), port), tmp_path / "relay.log")
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()  # what Kubernetes sends first
    assert process.wait(timeout=10) == 0
