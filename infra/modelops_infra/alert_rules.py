"""PrometheusRule for model SLOs; thresholds come from the environment file, never from code."""

from __future__ import annotations

from typing import Any

from modelops_infra import promql
from modelops_infra.layout import MONITORING_NAMESPACE


def slo_rules(
    *, models_namespace: str, error_rate: float, p95_ms: float, drift_threshold: float
) -> dict[str, Any]:
    """The spec of one PrometheusRule: error rate, p95 latency, drift score, missing scrape."""

    def alert(name: str, expr: str, duration: str, summary: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": duration,
            "labels": {"severity": "page" if name != "ModelDriftHigh" else "ticket"},
            "annotations": {"summary": summary},
        }

    who = "{{ $labels.model }} {{ $labels.release }}"
    up = promql.scrape_up(models_namespace, MONITORING_NAMESPACE)
    return {
        "groups": [
            {
                "name": "modelops-model-slos",
                "rules": [
                    alert(
                        "ModelErrorRateHigh",
                        f"({promql.error_ratio()}) > {error_rate}",
                        "10m",
                        f"{who}: more than {error_rate:.1%} of requests fail",
                    ),
                    alert(
                        "ModelLatencyP95High",
                        f"({promql.latency_quantile(0.95)}) > {p95_ms / 1000}",
                        "10m",
                        f"{who}: p95 latency above {p95_ms:g} ms",
                    ),
                    alert(
                        "ModelDriftHigh",
                        f"({promql.drift_score()}) > {drift_threshold}",
                        "30m",
                        "{{ $labels.model }} column {{ $labels.column }} drifted past "
                        + str(drift_threshold),
                    ),
                    alert(
                        "ModelScrapeMissing",
                        f"absent({up}) or ({up}) == 0",
                        "5m",
                        f"no model metrics scraped from {models_namespace}",
                    ),
                ],
            }
        ]
    }
