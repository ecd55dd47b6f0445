"""The real Alertmanager, configured as the chart renders it, notifying the real relay.

Each test runs one environment's configuration. Only four things differ from the cluster: the
webhook URL points at the relay's loopback port, not its Service; the Secrets' files are read from a
temporary folder, not from prometheus-operator's mounts under /etc/alertmanager/secrets (and the
pager's Secret holds a recorder's address where a Slack webhook URL would be); PagerDuty's Events API
address is the recorder's; and group_wait is 1s, not minutes. Matchers, grouping, `continue`, group
and repeat intervals, `send_resolved`, `max_alerts`, the bearer token and the receivers' `*_file`
fields are exactly what alert_routing.py deploys.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelops_infra.manifests.alert_routing import (
    ALERTMANAGER_SECRETS_DIR,
    AUTH_KEY,
    AUTH_SECRET,
    PAGER_KEYS,
    relay_url,
)
from modelops_infra.runtime.dispatch_relay import DRIFT_ALERT, ERROR_RATE_ALERT, dispatches
from modelops_infra.settings import PagingSettings, load_settings
from tests.alerting.alertmanager_config import alertmanager_binary, effective_config
from tests.alerting.conftest import ENVIRONMENT, RELAY_TOKEN, StandInGitHub
from tests.alerting.notifications import NAMESPACE, alert, labels, notification, rules
from tests.conftest import REPO_ROOT
from tests.tools import free_port, require, wait_ready

Start = Callable[..., str]
RELEASES = ("stable", "candidate")
PAGED_ENVIRONMENTS = ("dev", "staging", "prod")
PAGERDUTY_KEY = "test-routing-key"
PAGE = "ModelLatencyP95High"  # severity: page, and not one the relay acts on


def _paging(environment: str) -> PagingSettings:
    return load_settings(environment, root=REPO_ROOT).platform.alerting.page


def _secrets(paging: PagingSettings, pager_url: str) -> dict[tuple[str, str], str]:
    """The Secrets Alertmanager mounts, by (name, key), as `kubectl create secret` would fill them."""
    secrets = {(AUTH_SECRET, AUTH_KEY): RELAY_TOKEN + "\n"}
    if paging.receiver is not None and paging.secret is not None:
        value = PAGERDUTY_KEY if paging.receiver == "pagerduty" else f"{pager_url}/{paging.receiver}"
        secrets[(paging.secret, PAGER_KEYS[paging.receiver])] = value + "\n"
    return secrets


def _for_test(webhook_url: str, pager_url: str, secrets_dir: Path, paging: PagingSettings) -> dict[str, Any]:
    config = copy.deepcopy(effective_config(NAMESPACE, paging=paging))
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            if hook.get("url") == relay_url():
                hook["url"] = webhook_url
        for pagerduty in receiver.get("pagerduty_configs", []):
            assert "url" not in pagerduty  # PagerDuty's own Events API in the cluster
            pagerduty["url"] = f"{pager_url}/pagerduty"

    def shorten(route: dict[str, Any]) -> None:
        route["group_wait"] = "1s"
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    return _mounted(config, secrets_dir)


def _mounted(value: Any, secrets_dir: Path) -> Any:
    """`value` with each path under the operator's secrets folder moved to `secrets_dir`."""
    if isinstance(value, dict):
        return {k: _mounted(v, secrets_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_mounted(v, secrets_dir) for v in value]
    if isinstance(value, str) and value.startswith(f"{ALERTMANAGER_SECRETS_DIR}/"):
        moved = secrets_dir / value.removeprefix(f"{ALERTMANAGER_SECRETS_DIR}/")
        assert moved.is_file(), f"the config reads {value}, which no Secret of the test provides"
        return str(moved)
    return value


def _write_secrets(folder: Path, secrets: dict[tuple[str, str], str]) -> Path:
    for (name, key), content in secrets.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / key).write_text(content)
    return folder


@pytest.fixture()
def alertmanager(tmp_path: Path, pager: StandInGitHub) -> Iterator[Start]:
    """Starts an Alertmanager configured for an environment (prod unless told), whose webhook calls
    the given URL and whose pager is the `pager` recorder; returns its own URL."""
    binary = alertmanager_binary()
    require(binary is not None, "the 'alertmanager' (Debian: 'prometheus-alertmanager') command")
    assert binary is not None
    running: list[subprocess.Popen[bytes]] = []

    def start(
        webhook_url: str, *, environment: str = "prod", secrets: dict[tuple[str, str], str] | None = None
    ) -> str:
        paging = _paging(environment)
        secrets_dir = _write_secrets(tmp_path / "secrets", {**_secrets(paging, pager.url), **(secrets or {})})
        config = tmp_path / "alertmanager.yml"
        config.write_text(json.dumps(_for_test(webhook_url, pager.url, secrets_dir, paging)))  # JSON is YAML
        port = free_port()
        with (tmp_path / "alertmanager.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",  # no gossip port: a single, private instance
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_ready(
            f"{url}/-/ready", process, what="Alertmanager", timeout_s=20, log=tmp_path / "alertmanager.log"
        )
        return url

    yield start
    for process in running:
        process.terminate()
        process.wait(timeout=10)


def _push(alertmanager_url: str, *label_sets: dict[str, str]) -> None:
    """What Prometheus does: POST /api/v2/alerts."""
    alerts = [
        {
            "labels": each,
            "annotations": {"summary": each["alertname"]},
            "generatorURL": "http://prometheus/graph",
        }
        for each in label_sets
    ]
    request = urllib.request.Request(
        f"{alertmanager_url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _every_kind_of_alert() -> list[dict[str, str]]:
    """Each rule of the platform on stable and candidate releases, plus strangers."""
    others = sorted(set(rules()) - {DRIFT_ALERT, ERROR_RATE_ALERT})
    return [
        labels(DRIFT_ALERT, model="credit-risk", release="stable", column="age"),
        labels(DRIFT_ALERT, model="credit-risk", release="stable", column="amount"),
        labels(DRIFT_ALERT, model="credit-risk", release="candidate", column="age"),
        labels(ERROR_RATE_ALERT, model="credit-risk", release="candidate"),
        labels(ERROR_RATE_ALERT, model="fraud-score", release="stable"),
        *[labels(name, model="fraud-score", release=release) for name in others for release in RELEASES],
        {**labels(DRIFT_ALERT, model="churn", release="stable", column="age"), "namespace": "models-dev"},
        {**labels(ERROR_RATE_ALERT, model="churn", release="candidate"), "namespace": "models-dev"},
        {"alertname": "Watchdog", "severity": "none"},
        {"alertname": "KubePodCrashLooping", "namespace": NAMESPACE, "severity": "warning"},
    ]


def test_alertmanager_routes_only_drift_and_failing_candidates_to_the_webhook(alertmanager, github):
    """The routing alone, the relay's own filter out of the way: what reaches the webhook at all."""
    url = alertmanager(f"{github.url}/alerts")
    _push(url, *_every_kind_of_alert())
    github.wait_for(2)
    time.sleep(3)  # three more group_waits: anything misrouted would have arrived by now
    groups = sorted((n["groupLabels"] for n in github.dispatched()), key=json.dumps)
    # Each notification presents the relay's token, read from the mounted Secret.
    assert {r.headers["authorization"] for r in github.received} == {f"Bearer {RELAY_TOKEN}"}
    assert groups == [
        {"alertname": DRIFT_ALERT, "model": "credit-risk", "namespace": NAMESPACE},
        {
            "alertname": ERROR_RATE_ALERT,
            "model": "credit-risk",
            "namespace": NAMESPACE,
            "release": "candidate",
        },
    ]


def test_alertmanager_and_the_relay_open_one_retrain_and_one_rollback(alertmanager, relay, github):
    url = alertmanager(f"{relay.url}/alerts")
    _push(url, *_every_kind_of_alert())
    github.wait_for(2)
    time.sleep(3)
    assert sorted(github.dispatched(), key=json.dumps) == [
        {"event_type": "model-drift", "client_payload": {"model": "credit-risk"}},
        {
            "event_type": "model-rollback",
            "client_payload": {"model": "credit-risk", "environment": ENVIRONMENT},
        },
    ]


def test_a_firing_drift_alert_reaches_the_relay_with_its_token_and_becomes_one_dispatch(
    alertmanager, relay, github
):
    url = alertmanager(f"{relay.url}/alerts")
    _push(
        url,
        labels(DRIFT_ALERT, model="credit-risk", release="stable", column="age"),
        labels(DRIFT_ALERT, model="credit-risk", release="stable", column="amount"),
    )
    assert github.wait_for(1) == [{"event_type": "model-drift", "client_payload": {"model": "credit-risk"}}]
    time.sleep(3)
    assert len(github.received) == 1
    assert "no valid bearer token" not in relay.log()


def test_an_alertmanager_without_the_relays_token_dispatches_nothing(alertmanager, relay, github):
    url = alertmanager(f"{relay.url}/alerts", secrets={(AUTH_SECRET, AUTH_KEY): "an-old-token\n"})
    _push(url, labels(DRIFT_ALERT, model="credit-risk", release="stable", column="age"))
    deadline = time.monotonic() + 20
    while "no valid bearer token" not in relay.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "no valid bearer token" in relay.log()
    assert github.received == []


def test_alertmanager_retries_a_dispatch_github_refused_until_it_goes_through(alertmanager, relay, github):
    github.answers = [503, 503]  # the relay's attempt and its retry fail: it answers 502
    url = alertmanager(f"{relay.url}/alerts")
    _push(url, labels(ERROR_RATE_ALERT, model="credit-risk", release="candidate"))
    assert [r["event_type"] for r in github.wait_for(3)] == ["model-rollback"] * 3
    assert "not sent" in relay.log()


def test_the_test_notifications_are_shaped_like_alertmanagers_own(alertmanager, github):
    """Alertmanager's webhook body, caught by a recorder: the same fields as tests/alerting builds."""
    url = alertmanager(f"{github.url}/alerts")
    columns = [f"column-{i:02d}" for i in range(12)]
    _push(url, *[labels(DRIFT_ALERT, model="credit-risk", release="stable", column=c) for c in columns])
    (real,) = github.wait_for(1)
    built = notification(alert(DRIFT_ALERT, model="credit-risk", release="stable", column="age"))
    assert set(real) == set(built)
    assert set(real["alerts"][0]) == set(built["alerts"][0])
    assert (real["version"], real["receiver"], real["status"]) == ("4", "github-dispatch", "firing")
    assert real["groupLabels"] == {"alertname": DRIFT_ALERT, "namespace": NAMESPACE, "model": "credit-risk"}
    # max_alerts: 10 of the 12 columns travel, the group still names its one model.
    assert (len(real["alerts"]), real["truncatedAlerts"]) == (10, 2)
    assert [d.body for d in dispatches(real, environment="prod")] == [
        {"event_type": "model-drift", "client_payload": {"model": "credit-risk"}}
    ]


# Pages reach people.


@pytest.mark.parametrize("environment", PAGED_ENVIRONMENTS)
def test_a_page_reaches_the_pager_the_environment_names_through_its_secret(
    alertmanager, github, pager, environment
):
    url = alertmanager(f"{github.url}/alerts", environment=environment)
    _push(url, labels(PAGE, model="credit-risk", release="stable"))
    pager.wait_for(1)
    (page,) = pager.received
    receiver = _paging(environment).receiver
    assert page.path == f"/{receiver}"  # for Slack, the address read from the Secret's file
    assert PAGE in json.dumps(page.body)
    if receiver == "pagerduty":
        assert page.body["routing_key"] == PAGERDUTY_KEY  # read from the Secret's file
        assert page.body["event_action"] == "trigger"
    if receiver == "slack":
        assert page.body["attachments"]
    assert github.received == []  # a page alone proposes nothing


def test_a_ticket_pages_no_one_and_a_failing_candidate_pages_and_is_dispatched(alertmanager, github, pager):
    url = alertmanager(f"{github.url}/alerts")
    _push(
        url,
        labels(DRIFT_ALERT, model="credit-risk", release="stable", column="age"),  # severity: ticket
        labels(ERROR_RATE_ALERT, model="credit-risk", release="candidate"),  # severity: page
    )
    pager.wait_for(1)
    github.wait_for(2)
    time.sleep(3)  # three more group_waits: a page for the ticket would have arrived by now
    (page,) = pager.received
    assert ERROR_RATE_ALERT in json.dumps(page.body) and DRIFT_ALERT not in json.dumps(page.body)
    dispatched = sorted(n["groupLabels"]["alertname"] for n in github.dispatched())
    assert dispatched == [DRIFT_ALERT, ERROR_RATE_ALERT]
