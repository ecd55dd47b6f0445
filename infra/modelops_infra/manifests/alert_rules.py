"""PrometheusRule for model SLOs; thresholds come from the environment file, never from code.

Every alert carries `severity` (page: act now; ticket: act this week) and the models `namespace`,
which Alertmanager groups and inhibits by; `model` and `release` (and `column` for drift) come
with the series. `summary` says what broke, `description` the measured value and the first steps.
"""

from __future__ import annotations

from typing import Any, Literal

from modelops.serving import contract
from modelops_infra import layout as L
from modelops_infra.manifests import promql


def slo_rules(
    *, models_namespace: str, error_rate: float, p95_ms: float, drift_threshold: float
) -> dict[str, Any]:
    """The spec of one PrometheusRule: error rate, p95 latency, drift score, missing scrape."""
    who = "{{ $labels.model }} {{ $labels.release }}"
    pods = (
        f"kubectl -n {models_namespace} logs -l "
        f"{L.MODEL_LABEL}={{{{ $labels.model }}}},{L.RELEASE_LABEL}={{{{ $labels.release }}}}"
    )
    back_out = (
        "back out a candidate with `modelops rollout abort {{ $labels.model }} --env <env>`, "
        "a stable release with `modelops rollback {{ $labels.model }} --env <env>`"
    )
    up = promql.scrape_up(models_namespace, L.MONITORING_NAMESPACE)

    def alert(
        name: str,
        expr: str,
        duration: str,
        severity: Literal["page", "ticket"],
        summary: str,
        description: str,
    ) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": duration,
            "labels": {"severity": severity, "namespace": models_namespace},
            "annotations": {"summary": summary, "description": description},
        }

    return {
        "groups": [
            {
                "name": "modelops-model-slos",
                "rules": [
                    alert(
                        "ModelErrorRateHigh",
                        f"({promql.error_ratio()}) > {error_rate}",
                        "10m",
                        "page",
                        f"{who}: more than {error_rate:.1%} of requests fail",
                        "{{ $value | humanizePercentage }} of requests answered 5xx over the last "
                        f"{promql.WINDOW} (SLO {error_rate:.1%}). Read `{pods}`; {back_out}.",
                    ),
                    alert(
                        "ModelLatencyP95High",
                        f"({promql.latency_quantile(0.95)}) > {p95_ms / 1000}",
                        "10m",
                        "page",
                        f"{who}: p95 latency above {p95_ms:g} ms",
                        "p95 latency is {{ $value | humanizeDuration }} over the last "
                        f"{promql.WINDOW} (target {p95_ms:g} ms). Look for CPU throttling or too few "
                        f"replicas; if a new release is slower, {back_out}.",
                    ),
                    alert(
                        "ModelDriftHigh",
                        promql.drift_alert(drift_threshold),
                        "30m",
                        "ticket",
                        "{{ $labels.model }} column {{ $labels.column }} drifted past "
                        + str(drift_threshold),
                        f"{who}: column {{{{ $labels.column }}}} scores "
                        '{{ $value | printf "%.3f" }} against its training reference, above the '
                        f"promotion gate's {drift_threshold}. Live inputs no longer look like the "
                        "training data: check the upstream feature, then retrain and promote.",
                    ),
                    alert(
                        "ModelScrapeMissing",
                        f"absent({up}) or ({up}) == 0",
                        "5m",
                        "page",
                        f"no model metrics scraped from {models_namespace}",
                        f"A model server in {models_namespace} is down, or the PodMonitor "
                        f"{L.MONITORING_NAMESPACE}/{promql.POD_MONITOR} finds none: the error-rate and "
                        "latency alerts cannot see it. Check the predictor pods and their "
                        f":{L.MODEL_METRICS_PORT}/metrics.",
                    ),
                ],
            }
        ]
    }


def monitor_rules(*, models_namespace: str, period_s: int) -> dict[str, Any]:
    """The spec of the PrometheusRule that notices the monitor job falling silent: no run measured
    every live release of a model for two of its periods, or none ever reported."""
    limit = 2 * period_s
    return {
        "groups": [
            {
                "name": "modelops-monitor-job",
                "rules": [
                    {
                        "alert": "ModelMonitorStale",
                        "expr": promql.monitor_stale(limit),
                        "for": "5m",
                        "labels": {"severity": "ticket", "namespace": models_namespace},
                        "annotations": {
                            "summary": "{{ $labels.model }}: the monitor job has not reported for "
                            f"{limit // 3600}h",
                            "description": "The drift, live-metric and shadow panels show old values: "
                            f"`kubectl -n {L.JOBS_NAMESPACE} get jobs -l app=modelops-monitor` and the "
                            "last run's log say why (exit 2 names the file or release at fault, 3 an "
                            "unreachable Pushgateway).",
                        },
                    }
                ],
            }
        ]
    }


# The payload sink's own series (scripts/modelops/payloads/metrics.py), scraped by its ServiceMonitor.
SINK_JOB = contract.SINK_SERVICE  # the Service's name: prometheus-operator's job label for a ServiceMonitor
SINK_WINDOW = "15m"


def sink_scrape() -> dict[str, Any]:
    """`metadata` and `spec` of the ServiceMonitor that scrapes the payload sink's /metrics (its port
    admits the monitoring namespace: the jobs namespace's allow-prometheus-scrape policy)."""
    return {
        "metadata": {"name": SINK_JOB, "namespace": L.MONITORING_NAMESPACE},
        "spec": {
            "namespaceSelector": {"matchNames": [L.JOBS_NAMESPACE]},
            "selector": {"matchLabels": {"app": SINK_JOB}},
            "endpoints": [{"port": "http", "path": "/metrics"}],
        },
    }


def sink_rules(*, max_unpaired_share: float = 0.05) -> dict[str, Any]:
    """The spec of the PrometheusRule on the payload sink: rows it cannot store, events it cannot pair,
    and the sink missing. KServe's agent does not retry, so what the sink drops is lost for the monitor.

    An unpaired request is expected when the model answered an error (the agent logs no response), so
    the pairing alert fires only past `max_unpaired_share` of the events, above any error rate the
    model SLOs allow."""
    sink = f'job="{SINK_JOB}", namespace="{L.JOBS_NAMESPACE}"'
    received = f"sum(rate(payload_sink_events_total{{{sink}}}[{SINK_WINDOW}]))"
    unpaired = f"sum(rate(payload_sink_evicted_total{{{sink}}}[{SINK_WINDOW}]))"
    logs = f"`kubectl -n {L.JOBS_NAMESPACE} logs -l app={SINK_JOB}`"

    def alert(name: str, expr: str, duration: str, severity: str, summary: str, description: str) -> Any:
        return {
            "alert": name,
            "expr": expr,
            "for": duration,
            "labels": {"severity": severity, "namespace": L.JOBS_NAMESPACE},
            "annotations": {"summary": summary, "description": description},
        }

    return {
        "groups": [
            {
                "name": "modelops-payload-sink",
                "rules": [
                    alert(
                        "PayloadSinkWritesFailing",
                        f"sum(increase(payload_sink_flush_failures_total{{{sink}}}[{SINK_WINDOW}])) > 0",
                        "10m",
                        "page",
                        "the payload sink cannot write to the artifact store",
                        "Joined rows are held and retried; once the sink holds its limit it refuses new "
                        f"events (503) and the monitor loses them. {logs} names the store's error.",
                    ),
                    alert(
                        "PayloadSinkUnpairedEvents",
                        f"({unpaired}) / clamp_min({received}, 1e-9) > {max_unpaired_share}",
                        "30m",
                        "ticket",
                        "the payload sink drops {{ $value | humanizePercentage }} of logged events unpaired",
                        "A request's response never arrived (model errors, or a sink restart between them), "
                        "or the sink's pending bounds are too small for the traffic: those rows are not "
                        f"in the monitor's window. {logs} and its payload_sink_pending_events say which.",
                    ),
                    alert(
                        "PayloadSinkDown",
                        f"absent(up{{{sink}}} == 1)",
                        "10m",
                        "ticket",
                        "no payload sink is scraped",
                        "The InferenceServices' loggers send to a sink that is not running (or not "
                        "scraped): nothing reaches the monitor, and its drift scores go stale. "
                        f"`kubectl -n {L.JOBS_NAMESPACE} get pods -l app={SINK_JOB}`.",
                    ),
                ],
            }
        ]
    }
