"""The PromQL every dashboard panel and alert shares, so a chart and its alert never disagree.

Series come from MLServer (protocol v2) in each predictor pod; the PodMonitor adds the
`model` and `release` labels. MLServer's REST metrics are starlette_exporter's with the prefix
`rest_server`: `rest_server_requests_total` and the histogram `rest_server_request_duration_seconds`
(singular "request": MLServer's docs say `requests_duration`, the exporter's code does not), both
labelled `method`, `path`, `status_code` and `app_name`. Drift scores are published by the drift job as
`modelops_drift_score{model,release,column}`: the normed Wasserstein / Jensen-Shannon distance
of one column between the reference and live window (the gate's `distance_threshold` scale).
"""

from __future__ import annotations

BY = "model, release"
REQUESTS = "rest_server_requests_total"
LATENCY = "rest_server_request_duration_seconds_bucket"
DRIFT = "modelops_drift_score"
# 1 when the monitor's rule finds the column drifted: the distance at the threshold and larger than
# chance in that window (a quiet hour's few hundred rows reach the threshold on noise alone).
DRIFT_DETECTED = "modelops_drift_detected"
WINDOW = "5m"


def request_rate() -> str:
    return f"sum by ({BY}) (rate({REQUESTS}[{WINDOW}]))"


def error_ratio() -> str:
    failed = f'sum by ({BY}) (rate({REQUESTS}{{status_code=~"5.."}}[{WINDOW}]))'
    return f"{failed} / clamp_min({request_rate()}, 1e-9)"


def latency_quantile(quantile: float) -> str:
    return f"histogram_quantile({quantile}, sum by ({BY}, le) (rate({LATENCY}[{WINDOW}])))"


def drift_score() -> str:
    return f"max by ({BY}, column) ({DRIFT})"


def drift_alert(threshold: float) -> str:
    """Columns whose score is past `threshold` and which the monitor found drifted (not chance)."""
    detected = f"max by ({BY}, column) ({DRIFT_DETECTED}) == 1"
    return f"({drift_score()} > {threshold}) and on ({BY}, column) ({detected})"


# prometheus-operator names a PodMonitor's job `<namespace>/<name>`.
POD_MONITOR = "model-servers"


def scrape_up(models_namespace: str, monitoring_namespace: str) -> str:
    return f'up{{job="{monitoring_namespace}/{POD_MONITOR}", namespace="{models_namespace}"}}'


# The monitor job (`modelops monitor`) pushes these through the Pushgateway, labelled as it chose
# (Prometheus scrapes the Pushgateway with honor_labels).
PREDICTION_DRIFT = "modelops_prediction_drift_score"
LIVE_METRIC = "modelops_live_metric"
SHADOW_AGREEMENT = "modelops_shadow_agreement"
SHADOW_DIVERGENCE = "modelops_shadow_score_divergence"
MONITOR_ROWS = "modelops_monitor_rows"
MONITOR_LAST_SUCCESS = "modelops_monitor_last_success_timestamp_seconds"


def prediction_drift() -> str:
    return f"max by ({BY}) ({PREDICTION_DRIFT})"


def live_metric() -> str:
    return f"max by ({BY}, metric) ({LIVE_METRIC})"


def shadow_agreement() -> str:
    return f"max by ({BY}) ({SHADOW_AGREEMENT})"


def shadow_divergence() -> str:
    return f"max by ({BY}) ({SHADOW_DIVERGENCE})"


def monitored_rows() -> str:
    return f"max by ({BY}) ({MONITOR_ROWS})"


def monitor_age_seconds() -> str:
    """Seconds since the monitor last measured every live release of each model."""
    return f"time() - max by (model) ({MONITOR_LAST_SUCCESS})"


def monitor_stale(limit_s: int) -> str:
    """Models the monitor last measured over `limit_s` ago, or no report at all."""
    return f"({monitor_age_seconds()}) > {limit_s} or absent({MONITOR_LAST_SUCCESS})"
