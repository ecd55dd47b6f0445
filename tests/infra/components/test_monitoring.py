"""The SLO alerts and the serving dashboard each stack declares, thresholds from its environment file."""

from __future__ import annotations

import json

import pytest

from modelops_infra.settings import load_settings


@pytest.mark.parametrize("name", ["local", "prod"])
def test_slo_alerts_take_their_thresholds_from_the_environment_file(stacks, repo_root, name):
    environment = load_settings(name, root=repo_root)
    (rule,) = stacks[name].of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    alerts = {a["alert"]: a["expr"] for a in rule.inputs["spec"]["groups"][0]["rules"]}
    assert set(alerts) == {
        "ModelErrorRateHigh",
        "ModelLatencyP95High",
        "ModelDriftHigh",
        "ModelScrapeMissing",
    }
    assert alerts["ModelLatencyP95High"].endswith(
        f"> {environment.environment.promotion.latency.p95_ms / 1000}"
    )
    assert alerts["ModelDriftHigh"].endswith(
        f"> {environment.environment.promotion.drift.distance_threshold}"
    )
    assert alerts["ModelErrorRateHigh"].endswith(f"> {environment.platform.monitoring.slo.error_rate}")
    (dashboard,) = [
        c
        for c in stacks[name].of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == "modelops-serving-dashboard"
    ]
    panels = json.loads(dashboard.inputs["data"]["modelops-serving.json"])["panels"]
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    assert (
        "histogram_quantile(0.95" in exprs
        and "modelops_drift_score" in exprs
        and "by (model, release" in exprs
    )
