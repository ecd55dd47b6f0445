"""The pure mapping from an Alertmanager notification to GitHub dispatches, and the relay's memory."""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from modelops_infra.manifests import promql
from modelops_infra.runtime import dispatch_relay as relay
from modelops_infra.runtime.dispatch_relay import Memory, PayloadError, dispatches, plan
from tests.alerting.notifications import NAMESPACE, alert, notification, rules

DRIFT, ERRORS = relay.DRIFT_ALERT, relay.ERROR_RATE_ALERT


def bodies(payload: dict, *, environment: str = "prod") -> list[dict]:
    return [d.body for d in dispatches(payload, environment=environment)]


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
    assert bodies(payload, environment="prod") == [retrain("credit-risk")]


def test_one_retrain_per_model_whatever_columns_and_releases_drift():
    payload = notification(
        alert(DRIFT, model="credit-risk", release="stable", column="age"),
        alert(DRIFT, model="credit-risk", release="stable", column="amount"),
        alert(DRIFT, model="credit-risk", release="candidate", column="age"),
        alert(DRIFT, model="fraud-score", release="stable", column="amount"),
    )
    assert bodies(payload, environment="prod") == [retrain("credit-risk"), retrain("fraud-score")]


def test_a_failing_candidate_asks_for_its_rollback_in_this_environment():
    payload = notification(alert(ERRORS, model="credit-risk", release="candidate"))
    assert bodies(payload, environment="staging") == [rollback("credit-risk", "staging")]


def test_a_failing_stable_release_proposes_nothing():
    payload = notification(alert(ERRORS, model="credit-risk", release="stable"))
    assert bodies(payload, environment="prod") == []


def test_drift_and_a_failing_candidate_of_one_model_are_two_dispatches():
    payload = notification(
        alert(ERRORS, model="credit-risk", release="candidate"),
        alert(ERRORS, model="credit-risk", release="candidate"),
        alert(DRIFT, model="credit-risk", release="candidate", column="age"),
    )
    assert bodies(payload, environment="prod") == [rollback("credit-risk"), retrain("credit-risk")]


@pytest.mark.parametrize("name", sorted(set(rules()) - {DRIFT, ERRORS}))
def test_every_other_rule_of_the_platform_proposes_nothing(name, caplog):
    payload = notification(alert(name, model="credit-risk", release="candidate"))
    with caplog.at_level(logging.INFO, logger="dispatch-relay"):
        assert bodies(payload, environment="prod") == []
    assert "not an alert the relay acts on" in caplog.text


def test_resolved_alerts_are_ignored():
    payload = notification(
        alert(DRIFT, status="resolved", model="credit-risk", release="stable", column="age"),
        alert(ERRORS, status="resolved", model="credit-risk", release="candidate"),
        alert(DRIFT, model="fraud-score", release="stable", column="age"),
    )
    assert bodies(payload, environment="prod") == [retrain("fraud-score")]


def test_an_empty_notification_asks_for_nothing():
    assert bodies(notification(), environment="prod") == []


def test_fields_a_newer_alertmanager_adds_are_tolerated():
    payload = notification(alert(DRIFT, model="credit-risk", release="stable", column="age"))
    payload["orgId"] = 1
    payload["alerts"][0]["silenceURL"] = "http://alertmanager/#/silences/new"
    assert bodies(payload, environment="prod") == [retrain("credit-risk")]


# Label values become workflow inputs: only model names pass.


@pytest.mark.parametrize("length", [1, 63])
def test_model_names_up_to_63_characters_pass(length):
    model = "m" * length
    payload = notification(alert(DRIFT, model=model, release="stable", column="age"))
    assert bodies(payload, environment="prod") == [retrain(model)]


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
        assert bodies(payload, environment="prod") == []
    assert caplog.text.count("is not a model name") == 2
    assert "\n" not in caplog.records[0].getMessage()  # the value is logged quoted, never raw


def test_an_alert_without_a_model_label_is_dropped():
    payload = notification(alert(DRIFT, release="stable", column="age"))
    assert bodies(payload, environment="prod") == []


def test_the_environment_must_be_a_name():
    with pytest.raises(ValueError, match="environment"):
        dispatches(notification(), environment="prod; rm -rf")


# Anything that is not Alertmanager's webhook JSON is refused whole.

FIRING = {
    "status": "firing",
    "labels": {"alertname": DRIFT, "model": "credit-risk"},
    "fingerprint": "0123456789abcdef",
    "startsAt": "2025-06-02T09:30:00Z",
}


def test_the_well_formed_alert_the_refusals_below_start_from_is_accepted():
    assert bodies({"version": "4", "groupKey": "{}:{}", "alerts": [FIRING]}) == [retrain("credit-risk")]


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
        {"version": "4", "groupKey": "{}:{}", "alerts": ["firing"]},
        {"version": "4", "groupKey": "{}:{}", "alerts": [{**FIRING, "status": "pending"}]},
        {"version": "4", "groupKey": "{}:{}", "alerts": [{**FIRING, "labels": None}]},
        {"version": "4", "groupKey": "{}:{}", "alerts": [{**FIRING, "labels": {"model": ["credit-risk"]}}]},
        {"version": "4", "alerts": [FIRING]},  # no groupKey
        {"version": "4", "groupKey": "{}:{}", "alerts": [{**FIRING, "fingerprint": None}]},
        {"version": "4", "groupKey": "{}:{}", "alerts": [{**FIRING, "startsAt": 1748856600}]},
    ],
)
def test_a_body_that_is_not_an_alertmanager_notification_is_refused(payload):
    with pytest.raises(PayloadError):
        dispatches(payload, environment="prod")


# Within the relay's limits: the models this environment serves, and a few dispatches a notification.

MODELS = {"credit-risk", "fraud-score", "churn"}


def test_a_plan_keeps_the_models_this_environment_serves_and_counts_the_others():
    payload = notification(
        alert(DRIFT, model="retired", release="stable", column="age"),
        alert(DRIFT, model="credit-risk", release="stable", column="age"),
        alert(ERRORS, model="retired", release="candidate"),
        alert(ERRORS, model="elsewhere", release="candidate"),
    )
    planned = plan(payload, environment="prod", models=MODELS)
    assert [d.body for d in planned.dispatches] == [retrain("credit-risk")]
    assert planned.unknown_models == ("elsewhere", "retired")
    assert planned.over_limit == ()


@pytest.mark.parametrize("limit", [1, 5])
def test_a_plan_sends_up_to_the_limit_in_the_order_the_alerts_came_and_names_the_rest(limit):
    models = [f"model-{i}" for i in range(limit + 2)]
    payload = notification(*[alert(DRIFT, model=m, release="stable", column="age") for m in models])
    planned = plan(payload, environment="prod", models=models, limit=limit)
    assert [d.model for d in planned.dispatches] == models[:limit]
    assert [str(d) for d in planned.over_limit] == [f"model-drift {m}" for m in models[limit:]]


def test_a_plan_at_the_limit_drops_nothing():
    payload = notification(*[alert(DRIFT, model=m, release="stable", column="age") for m in sorted(MODELS)])
    planned = plan(payload, environment="prod", models=MODELS, limit=len(MODELS))
    assert len(planned.dispatches) == len(MODELS) and planned.over_limit == ()


# What makes a firing the same one: its group, its alert, when it started, and what it asks for.


def _firings(*alerts: dict, group_key: str | None = None) -> tuple[str, ...]:
    payload = notification(*alerts)
    if group_key is not None:
        payload["groupKey"] = group_key
    (dispatch,) = dispatches(payload, environment="prod")
    return dispatch.firings


def test_a_firing_is_named_by_its_group_alert_start_and_event():
    drift = alert(DRIFT, model="credit-risk", release="stable", column="age")
    assert _firings(drift) == _firings(drift)
    assert len(_firings(drift, drift)) == 1
    assert _firings(drift) != _firings({**drift, "startsAt": "2025-06-03T09:30:00.000Z"})
    assert _firings(drift) != _firings({**drift, "fingerprint": "ffffffffffffffff"})
    assert _firings(drift) != _firings(drift, group_key="{}:{other}")


def test_every_firing_alert_of_a_dispatch_is_one_of_its_firings():
    columns = [alert(DRIFT, model="credit-risk", release="stable", column=c) for c in ("age", "amount")]
    assert len(_firings(*columns)) == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_claims_a_firing_once():
    memory = Memory()
    assert memory.claim(["a", "b"]) == ("a", "b")
    assert memory.claim(["a", "b"]) == ()
    assert memory.claim(["b", "c"]) == ("c",)  # a new alert joined: the dispatch goes again


def test_memory_gives_back_a_claim_whose_dispatch_failed():
    memory = Memory()
    claimed = memory.claim(["a"])
    memory.release(claimed)
    assert memory.claim(["a"]) == ("a",)


def test_memory_forgets_after_the_window():
    clock = Clock()
    memory = Memory(window_s=3600, clock=clock)
    memory.claim(["a"])
    clock.now += 3600
    assert memory.claim(["a"]) == ()
    clock.now += 0.001
    assert memory.claim(["a"]) == ("a",)


def test_memory_holds_at_most_its_entries_forgetting_the_oldest():
    memory = Memory(entries=2)
    memory.claim(["a"])
    memory.claim(["b"])
    memory.claim(["c"])
    assert memory.claim(["b", "c"]) == ()
    assert memory.claim(["a"]) == ("a",)
