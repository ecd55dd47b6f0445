"""Grafana dashboard for model serving, as code: rate, errors, latency percentiles, drift, the
monitor job's prediction drift, live metrics and shadow agreement, and the canary analysis' rollout panel."""

from __future__ import annotations

import json
from typing import Any

from modelops_infra.manifests import promql

LATENCY_QUANTILES = (0.5, 0.95, 0.99)


def _panel(
    panel_id: int, title: str, targets: list[tuple[str, str]], unit: str, y: int, x: int
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def serving_dashboard(*, p95_target_ms: float, drift_threshold: float) -> dict[str, Any]:
    per_release = "{{model}} / {{release}}"
    latency = [(promql.latency_quantile(q), f"p{round(q * 100)} {per_release}") for q in LATENCY_QUANTILES]
    drift = _panel(
        4,
        "Drift score per column",
        [(promql.drift_score(), f"{per_release} / {{{{column}}}}")],
        "none",
        8,
        12,
    )
    drift["fieldConfig"]["defaults"]["thresholds"] = {
        "mode": "absolute",
        "steps": [{"color": "green", "value": None}, {"color": "red", "value": drift_threshold}],
    }
    latency_panel = _panel(3, f"Latency percentiles (p95 target {p95_target_ms:g} ms)", latency, "s", 8, 0)
    prediction = _panel(
        5,
        "Prediction drift (served scores against the version's scores on its reference)",
        [(promql.prediction_drift(), per_release)],
        "none",
        16,
        0,
    )
    prediction["fieldConfig"]["defaults"]["thresholds"] = drift["fieldConfig"]["defaults"]["thresholds"]
    live = _panel(
        6,
        "Live metrics on labelled rows",
        [(promql.live_metric(), f"{per_release} / {{{{metric}}}}")],
        "percentunit",
        16,
        12,
    )
    shadow = _panel(
        7,
        "Shadow against stable on the same inputs",
        [
            (promql.shadow_agreement(), f"agreement {per_release}"),
            (promql.shadow_divergence(), f"mean |score difference| {per_release}"),
        ],
        "percentunit",
        24,
        0,
    )
    rows = _panel(
        8, "Rows the monitor read per window", [(promql.monitored_rows(), per_release)], "none", 24, 12
    )
    rollout = _rollout_panels(y=32)
    return {
        "uid": "modelops-serving",
        "title": "Model serving",
        "tags": ["modelops"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}
            ]
        },
        "panels": [
            _panel(1, "Request rate", [(promql.request_rate(), per_release)], "reqps", 0, 0),
            _panel(2, "Error rate", [(promql.error_ratio(), per_release)], "percentunit", 0, 12),
            latency_panel,
            drift,
            prediction,
            live,
            shadow,
            rows,
            *rollout,
        ],
    }


def _rollout_panels(*, y: int) -> list[dict[str, Any]]:
    """What `modelops rollout analyze | advance` last saw and said, per model: the overlay's weights, the
    decision, and each check (1 passed, 0 failed, -1 not measured)."""
    weights = _panel(
        9,
        "Rollout: traffic weights (overlay)",
        [(promql.rollout_weight(), "{{model}} / {{release}}")],
        "percent",
        y,
        0,
    )
    decision = _panel(
        10, "Rollout: last decision", [(promql.rollout_decision(), "{{model}}: {{decision}}")], "none", y, 12
    )
    decision["type"] = "state-timeline"
    checks = _panel(
        11,
        "Rollout: analysis checks (1 pass, 0 fail, -1 no data)",
        [(promql.rollout_checks(), "{{model}} / {{check}}")],
        "none",
        y + 8,
        0,
    )
    checks["type"] = "state-timeline"
    checks["fieldConfig"]["defaults"]["thresholds"] = {
        "mode": "absolute",
        "steps": [
            {"color": "gray", "value": None},
            {"color": "red", "value": 0},
            {"color": "green", "value": 1},
        ],
    }
    checks["gridPos"]["w"] = 24
    return [weights, decision, checks]


def dashboard_json(**kwargs: float) -> str:
    return json.dumps(serving_dashboard(**kwargs), indent=2, sort_keys=True)
