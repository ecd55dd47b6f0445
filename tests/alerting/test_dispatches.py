"""The pure mapping from an Alertmanager notification to GitHub dispatch bodies."""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from modelops_infra.manifests import promql
from modelops_infra.runtime import dispatch_relay as relay
from modelops_infra.runtime.dispatch_relay import PayloadError, dispatches
from tests.alerting.notifications import NAMESPACE, alert, notification, rules

DRIFT, ERRORS = relay.DRIFT_ALERT, relay.ERROR_RATE_ALERT


def retrain(model: str) -> dict:
    return {"event_type": "model-drift", "client_payload": {"model": model}}


def rollback(model: str, environment: str = "prod") -> dict:
    return {"event_type": "model-rollback", "client_payload": {"model": model, "environment": environment}}


# In step with the rules, the serving manifests and the workflows.


def test_the_relay_names_the_alerts_alert_rules_declares():
    assert {DRIFT, ERRORS} <= set(rules())
    assert rules()[DRIFT]["labels"]["namespace"] == NAMESPACE


def test_the_alerts_carry_the_model_and_release_labels_the_relay_reads():
    grouped_by = {label.strip() for label in promql.BY.split(",")}
    assert {relay.MODEL_LABEL, relay.RELEASE_LABEL} <= grouped_by
    assert promql.drift_score().startswith(f"max by ({promql.BY}, column)")
    assert rules()[ERRORS]["expr"].startswith(f"({promql.error_ratio()})")


def test_a_candidate_is_labelled_as_the_relay_expects(repo_root):
    candidates = list((repo_root / "gitops" / "models").glob("*/components/candidate/inferenceservice.yaml"))
    assert candidates
    for path in candidates:
        manifest = YAML(typ="safe").load(path.read_text())
        assert manifest["metadata"]["labels"]["modelops.io/release"] == relay.CANDIDATE_RELEASE, path


def test_the_event_types_are_the_ones_the_workflows_listen_for(repo_root):
    retrain_workflow = YAML(typ="safe").load(
        (repo_root / ".github" / "workflows" / "retrain.yml").read_text()
    )
    assert retrain_workflow["on"]["repository_dispatch"]["types"] == [relay.RETRAIN_EVENT]
    assert relay.ROLLBACK_EVENT == "model-rollback"


def test_the_relay_imports_the_standard_library_only():
    tree = ast.parse(Path(relay.__file__).read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)


# The mapping.


def test_drift_asks_for_a_retrain_of_the_model():
    payload = notification(alert(DRIFT, model="credit-risk", release="stable", column="age"))
    assert dispatches(payload, environment="prod") == [retrain("credit-risk")]


def test_one_retrain_per_model_whatever_columns_and_releases_drift():
    payload = notification(
        alert(DRIFT, model="credit-risk", release="stable", column="age"),
        alert(DRIFT, model="credit-risk", release="stable", column="amount"),
        alert(DRIFT, model="credit-risk", release="candidate", column="age"),
        alert(DRIFT, model="fraud-score", release="stable", column="amount"),
    )
    assert dispatches(payload, environment="prod") == [retrain("credit-risk"), retrain("fraud-score")]


def test_a_failing_candidate_asks_for_its_rollback_in_this_environment():
    payload = notification(alert(ERRORS, model="credit-risk", release="candidate"))
    assert dispatches(payload, environment="staging") == [rollback("credit-risk", "staging")]


def test_a_failing_stable_release_proposes_nothing():
    payload = notification(alert(ERRORS, model="credit-risk", release="stable"))
    assert dispatches(payload, environment="prod") == []


def test_drift_and_a_failing_candidate_of_one_model_are_two_dispatches():
    payload = notification(
        alert(ERRORS, model="credit-risk", release="candidate"),
        alert(ERRORS, model="credit-risk", release="candidate"),
        alert(DRIFT, model="credit-risk", release="candidate", column="age"),
    )
    assert dispatches(payload, environment="prod") == [rollback("credit-risk"), retrain("credit-risk")]


@pytest.mark.parametrize("name", sorted(set(rules()) - {DRIFT, ERRORS}))
def test_every_other_rule_of_the_platform_proposes_nothing(name, caplog):
    payload = notification(alert(name, model="credit-risk", release="candidate"))
    with caplog.at_level(logging.INFO, logger="dispatch-relay"):
        assert dispatches(payload, environment="prod") == []
    assert "not an alert the relay acts on" in caplog.text


def test_resolved_alerts_are_ignored():
    payload = notification(
        alert(DRIFT, status="resolved", model="credit-risk", release="stable", column="age"),
        alert(ERRORS, status="resolved", model="credit-risk", release="candidate"),
        alert(DRIFT, model="fraud-score", release="stable", column="age"),
    )
    assert dispatches(payload, environment="prod") == [retrain("fraud-score")]


def test_an_empty_notification_asks_for_nothing():
    assert dispatches(notification(), environment="prod") == []


def test_fields_a_newer_alertmanager_adds_are_tolerated():
    payload = notification(alert(DRIFT, model="credit-risk", release="stable", column="age"))
    payload["orgId"] = 1
    payload["alerts"][0]["silenceURL"] = "http://alertmanager/#/silences/new"
    assert dispatches(payload, environment="prod") == [retrain("credit-risk")]


# Label values become workflow inputs: only model names pass.


@pytest.mark.parametrize("length", [1, 63])
def test_model_names_up_to_63_characters_pass(length):
    model = "m" * length
    payload = notification(alert(DRIFT, model=model, release="stable", column="age"))
    assert dispatches(payload, environment="prod") == [retrain(model)]


@pytest.mark.parametrize(
    "model",
    ["", "m" * 64, "Credit-Risk", "credit_risk", "-credit", "credit-risk\n", "../policies", "a b", "crédit"],
)
def test_label_values_that_are_not_model_names_are_dropped_with_a_reason(model, caplog):
    payload = notification(
        alert(DRIFT, model=model, release="stable", column="age"),
        alert(ERRORS, model=model, release="candidate"),
    )
    with caplog.at_level(logging.WARNING, logger="dispatch-relay"):
        assert dispatches(payload, environment="prod") == []
    assert caplog.text.count("is not a model name") == 2
    assert "\n" not in caplog.records[0].getMessage()  # the value is logged quoted, never raw


def test_an_alert_without_a_model_label_is_dropped():
    payload = notification(alert(DRIFT, release="stable", column="age"))
    assert dispatches(payload, environment="prod") == []


def test_the_environment_must_be_a_name():
    with pytest.raises(ValueError, match="environment"):
        dispatches(notification(), environment="prod; rm -rf")


# Anything that is not Alertmanager's webhook JSON is refused whole.


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "alerts",
        {"alerts": []},
        {"version": "3", "alerts": []},
        {"version": 4, "alerts": []},
        {"version": "4"},
        {"version": "4", "alerts": {}},
        {"version": "4", "alerts": ["firing"]},
        {"version": "4", "alerts": [{"status": "pending", "labels": {}}]},
        {"version": "4", "alerts": [{"status": "firing"}]},
        {"version": "4", "alerts": [{"status": "firing", "labels": {"model": ["credit-risk"]}}]},
    ],
)
def test_a_body_that_is_not_an_alertmanager_notification_is_refused(payload):
    with pytest.raises(PayloadError):
        dispatches(payload, environment="prod")
