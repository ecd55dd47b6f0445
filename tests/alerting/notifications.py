"""Alertmanager webhook notifications (version 4), built from the alerts alert_rules.py declares.

The shape is Alertmanager's webhook body: receiver, status, alerts (status, labels, annotations,
startsAt, endsAt, generatorURL, fingerprint), groupLabels, commonLabels, commonAnnotations,
externalURL, version "4", groupKey and truncatedAlerts. test_with_alertmanager.py holds it equal to
what a real Alertmanager sends.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from modelops_infra.manifests.alert_rules import slo_rules

NAMESPACE = "models-prod"
NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert


@cache
def rules() -> dict[str, dict[str, Any]]:
    """Every alerting rule of the PrometheusRule, by alert name."""
    spec = slo_rules(models_namespace=NAMESPACE, error_rate=0.01, p95_ms=50, drift_threshold=0.1)
    return {rule["alert"]: rule for group in spec["groups"] for rule in group["rules"]}


def labels(name: str, **series: str) -> dict[str, str]:
    """The labels Prometheus gives the alert `name` on a series: the rule's labels win a clash."""
    return {**series, **rules()[name]["labels"], "alertname": name}


def alert(name: str, *, status: str = "firing", **series: str) -> dict[str, Any]:
    alert_labels = labels(name, **series)
    return {
        "status": status,
        "labels": alert_labels,
        "annotations": {"summary": f"{name} summary", "description": f"{name} description"},
        "startsAt": "2025-06-02T09:30:00.000Z",
        "endsAt": NEVER if status == "firing" else "2025-06-02T10:00:00.000Z",
        "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=up&g0.tab=1",
        "fingerprint": hashlib.sha256(json.dumps(sorted(alert_labels.items())).encode()).hexdigest()[:16],
    }


def notification(
    *alerts: dict[str, Any], group_by: tuple[str, ...] = ("alertname", "namespace", "model")
) -> dict[str, Any]:
    common = dict(alerts[0]["labels"]) if alerts else {}
    for each in alerts[1:]:
        common = {k: v for k, v in common.items() if each["labels"].get(k) == v}
    group = {k: common[k] for k in group_by if k in common}
    pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(group.items()))
    return {
        "receiver": "github-dispatch",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": list(alerts),
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://kube-prometheus-stack-alertmanager.monitoring:9093",
        "version": "4",
        "groupKey": f'{{}}/{{namespace="{NAMESPACE}"}}:{{{pairs}}}',
        "truncatedAlerts": 0,
    }


def body(*alerts: dict[str, Any]) -> bytes:
    return json.dumps(notification(*alerts)).encode()


def forged(count: int, *, alertname: str = "ModelDriftHigh") -> bytes:
    """One group of `count` firing alerts, each naming a model of its own, in as few bytes as
    Alertmanager's fields allow: the shape of the forged POST that once became 5,000 dispatches."""
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": alertname, "model": f"m-{index:04d}"},
            "startsAt": "2025-06-02T09:30:00Z",
            "fingerprint": f"{index:016x}",
        }
        for index in range(count)
    ]
    return json.dumps(
        {"version": "4", "status": "firing", "groupKey": "{}:{}", "alerts": alerts}, separators=(",", ":")
    ).encode()
