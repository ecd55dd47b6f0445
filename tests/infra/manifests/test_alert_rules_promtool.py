"""The model SLO alerts of each environment, checked by promtool and loaded by a real Prometheus.

The rule groups come from `slo_rules`, called as the Monitoring component calls it with the
environment's settings (one test pins that to what each stack declares under Pulumi's mocks),
so a threshold changed in `environments/<env>.yaml` changes what these tests expect.
"""

from __future__ import annotations

import subprocess
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelops_infra import layout
from modelops_infra.manifests import promql
from modelops_infra.manifests.alert_rules import slo_rules
from modelops_infra.settings import Settings, load_settings
from tests.conftest import REPO_ROOT
from tests.infra.conftest import STACKS
from tests.infra.manifests.promtool import cases, live
from tests.infra.manifests.promtool.series import Slo, Target
from tests.tools import require_command

ALERTS = ("ModelErrorRateHigh", "ModelLatencyP95High", "ModelDriftHigh", "ModelScrapeMissing")
# How long a sustained breach may go unannounced: a policy, not an SLO threshold.
DETECTION_MINUTES = {"page": 15, "ticket": 60}


@cache
def _settings(name: str) -> Settings:
    return load_settings(name, root=REPO_ROOT)


def _spec(name: str) -> dict[str, Any]:
    """The PrometheusRule spec, with the arguments the platform passes the Monitoring component."""
    settings = _settings(name)
    promotion = settings.environment.promotion
    return slo_rules(
        models_namespace=settings.models_namespace,
        error_rate=settings.platform.monitoring.slo.error_rate,
        p95_ms=promotion.latency.p95_ms,
        drift_threshold=promotion.drift.distance_threshold,
    )


def _rules(name: str) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in _spec(name)["groups"] for rule in group["rules"]}


def _target(name: str) -> Target:
    """prometheus-operator labels a PodMonitor's series `job="<namespace>/<name>"`."""
    return Target(f"{layout.MONITORING_NAMESPACE}/{promql.POD_MONITOR}", _settings(name).models_namespace)


def _write(path: Path, document: dict[str, Any]) -> Path:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_command("promtool"), *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def rule_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each environment's rule groups as the Prometheus rule file prometheus-operator generates."""
    folder = tmp_path_factory.mktemp("rules")
    return {name: _write(folder / f"{name}.rules.yaml", _spec(name)) for name in STACKS}


@pytest.mark.parametrize("name", STACKS)
def test_the_rules_under_test_are_the_ones_each_stack_declares(stacks, name):
    (rule,) = [
        r
        for r in stacks[name].of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        if r.inputs["metadata"]["name"] == "modelops-model-slos"  # the monitor job's has its own test
    ]
    assert rule.inputs["spec"] == _spec(name)
    (monitor,) = stacks[name].of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")
    meta = monitor.inputs["metadata"]
    assert f"{meta['namespace']}/{meta['name']}" == _target(name).job
    relabelled = {r["targetLabel"] for r in monitor.inputs["spec"]["podMetricsEndpoints"][0]["relabelings"]}
    assert {"model", "release"} <= relabelled


@pytest.mark.parametrize("name", STACKS)
def test_promtool_accepts_every_rule(rule_files, name):
    result = _promtool("check", "rules", str(rule_files[name]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules(name))} rules found" in result.stdout


@pytest.mark.parametrize("name", STACKS)
def test_every_alert_routes_by_severity_and_namespace_says_what_to_do_and_comes_in_time(name):
    rules = _rules(name)
    assert sorted(rules) == sorted(ALERTS)
    for alert, rule in rules.items():
        assert rule["labels"]["namespace"] == _settings(name).models_namespace, alert
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], alert
        # rate() needs a minute of samples before the `for:` clock starts.
        budget = DETECTION_MINUTES[rule["labels"]["severity"]]
        assert 1 + cases.minutes_of(rule["for"]) <= budget, f"{alert} waits {rule['for']}"


@pytest.mark.parametrize("alert", ALERTS)
@pytest.mark.parametrize("name", STACKS)
def test_alert_fires_past_its_threshold_and_stays_silent_short_of_it(rule_files, tmp_path, name, alert):
    document = cases.unit_tests(
        str(rule_files[name]), _rules(name)[alert], Slo.of(_settings(name)), _target(name)
    )
    assert any(t["alert_rule_test"][-1]["exp_alerts"] for t in document["tests"]), "no case fires"
    assert any(not t["alert_rule_test"][-1]["exp_alerts"] for t in document["tests"]), "no case is silent"
    result = _promtool("test", "rules", str(_write(tmp_path / f"{alert}.test.yaml", document)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_loads_the_rules_and_evaluates_every_alert_on_scraped_metrics(rule_files, tmp_path):
    """prod's rules in a real Prometheus, scraping a stand-in model server that breaches every SLO."""
    binary = require_command("prometheus")
    name = "prod"
    settings = _settings(name)
    breach = live.Breach.of(Slo.of(settings))
    with live.serving(breach) as address:
        config = _write(
            tmp_path / "prometheus.yml",
            live.config(rule_files[name], address, _target(name).pod("stable", 0)),
        )
        checked = _promtool("check", "config", str(config))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        with live.prometheus(binary, config, tmp_path) as base:
            groups = _rule_groups_once_settled(base, deadline=time.monotonic() + 60)
    assert {group["name"] for group in groups} == {group["name"] for group in _spec(name)["groups"]}
    rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert all(rule["health"] == "ok" for rule in rules.values()), {
        n: r.get("lastError") for n, r in rules.items()
    }
    # Each breach is seen (pending: its `for:` has not elapsed) on the series as scraped,
    # for the model and release the target labels name, at the value the series imply.
    who = {"model": "credit-risk", "release": "stable", "namespace": settings.models_namespace}
    for alert, value in breach.expected().items():
        assert rules[alert]["state"] == "pending", (alert, rules[alert])
        (instance,) = rules[alert]["alerts"]
        assert who.items() <= instance["labels"].items(), (alert, instance)
        assert float(instance["value"]) == pytest.approx(value, rel=1e-6), (alert, instance)
    assert rules["ModelDriftHigh"]["alerts"][0]["labels"]["column"] == "credit_amount"
    # The target is up under the PodMonitor's job and the models namespace, so this one is quiet.
    assert rules["ModelScrapeMissing"]["state"] == "inactive", rules["ModelScrapeMissing"]


def _rule_groups_once_settled(base: str, *, deadline: float) -> list[dict[str, Any]]:
    """Poll /api/v1/rules until every alert has been evaluated and the three breaches are pending."""
    while True:
        groups = live.get_json(f"{base}/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        evaluated = rules and all(not rule["lastEvaluation"].startswith("0001") for rule in rules)
        pending = sum(rule["state"] == "pending" for rule in rules)
        if (evaluated and pending >= 3) or time.monotonic() > deadline:
            return groups
        time.sleep(0.5)
