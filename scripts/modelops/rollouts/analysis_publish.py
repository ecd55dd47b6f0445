"""The analysis' verdict as Prometheus series, pushed to the Pushgateway for the rollout panel.

One group per (job, model): each push replaces the last, so a finished rollout's checks do not
linger beside the next one's. Series names are modelops.observability.promql's, which the panel reads.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from modelops.observability import promql
from modelops.rollouts.analysis_run import Analysis
from modelops.rollouts.records import DECISIONS

JOB = "modelops-rollout"
_OUTCOME = {"pass": 1.0, "fail": 0.0, "no data": -1.0}


def registry_for(analysis: Analysis, *, now: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    model = analysis.rollout.model
    traffic = analysis.rollout.state.traffic
    weight = Gauge(
        promql.ROLLOUT_WEIGHT,
        "Percent of requests each release answers, as the overlay the analysis read sets it",
        ["model", "release"],
        registry=registry,
    )
    weight.labels(model=model, release="stable").set(traffic.stable)
    weight.labels(model=model, release="candidate").set(traffic.candidate)
    decision = Gauge(
        promql.ROLLOUT_DECISION,
        "1 for the decision the last analysis of the rollout made, 0 for the others",
        ["model", "decision"],
        registry=registry,
    )
    for name in DECISIONS:
        decision.labels(model=model, decision=name).set(1.0 if name == analysis.verdict.decision else 0.0)
    check = Gauge(
        promql.ROLLOUT_CHECK,
        "Each check of the last analysis: 1 passed, 0 failed, -1 not measured",
        ["model", "check"],
        registry=registry,
    )
    for item in analysis.verdict.checks:
        check.labels(model=model, check=item.name).set(_OUTCOME[item.outcome])
    last = Gauge(
        promql.ROLLOUT_LAST_ANALYSIS, "When the rollout was last analysed", ["model"], registry=registry
    )
    last.labels(model=model).set(now)
    return registry
