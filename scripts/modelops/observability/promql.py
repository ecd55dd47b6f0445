"""The PromQL every dashboard panel, alert and script shares, so a chart, its alert and a rollout's
verdict never disagree.

Series come from MLServer (protocol v2) in each predictor pod; the PodMonitor adds the
`model` and `release` labels. MLServer's REST metrics are starlette_exporter's with the prefix
`rest_server`: `rest_server_requests_total` and the histogram `rest_server_request_duration_seconds`
(singular "request": MLServer's docs say `requests_duration`, the exporter's code does not), both
labelled `method`, `path`, `status_code` and `app_name`. MLServer's `path` carries no model name:
releases are told apart by the pod labels alone. Drift scores are published by the monitor job as
`modelops_drift_score{model,release,column}`: the normed Wasserstein / Jensen-Shannon distance
of one column between the reference and live window (the gate's `distance_threshold` scale).

Every builder takes the range it reads (`window`, a PromQL duration such as `5m` or `3600s`) and an
optional label `selector` (`model="x"`), so the dashboards' 5-minute rates and a rollout step's whole
window are the same expression.
"""

from __future__ import annotations

from collections.abc import Sequence

BY = "model, release"
REQUESTS = "rest_server_requests_total"
LATENCY = "rest_server_request_duration_seconds_bucket"
DRIFT = "modelops_drift_score"
# 1 when the monitor's rule finds the column drifted: the distance at the threshold and larger than
# chance in that window (a quiet hour's few hundred rows reach the threshold on noise alone).
DRIFT_DETECTED = "modelops_drift_detected"
WINDOW = "5m"
FAILED = 'status_code=~"5.."'


def _select(metric: str, *matchers: str) -> str:
    present = [m for m in matchers if m]
    return f"{metric}{{{', '.join(present)}}}" if present else metric


def label_matcher(label: str, value: str) -> str:
    """`label="value"` with the value escaped as a PromQL string (a name is data, never syntax)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{label}="{escaped}"'


def request_rate(window: str = WINDOW, *, selector: str = "") -> str:
    return f"sum by ({BY}) (rate({_select(REQUESTS, selector)}[{window}]))"


def error_ratio(window: str = WINDOW, *, selector: str = "") -> str:
    failed = f"sum by ({BY}) (rate({_select(REQUESTS, FAILED, selector)}[{window}]))"
    return f"{failed} / clamp_min({request_rate(window, selector=selector)}, 1e-9)"


def latency_quantile(quantile: float, window: str = WINDOW, *, selector: str = "") -> str:
    return f"histogram_quantile({quantile}, sum by ({BY}, le) (rate({_select(LATENCY, selector)}[{window}])))"


def requests_served(window: str, *, selector: str = "") -> str:
    """Requests each release answered over `window` (a count, not a rate: the minimum-traffic rule)."""
    return f"sum by ({BY}) (increase({_select(REQUESTS, selector)}[{window}]))"


def requests_failed(window: str, *, selector: str = "") -> str:
    return f"sum by ({BY}) (increase({_select(REQUESTS, FAILED, selector)}[{window}]))"


def drift_score(*, selector: str = "") -> str:
    return f"max by ({BY}, column) ({_select(DRIFT, selector)})"


def drift_alert(threshold: float) -> str:
    """Columns whose score is past `threshold` and which the monitor found drifted (not chance)."""
    detected = f"max by ({BY}, column) ({DRIFT_DETECTED}) == 1"
    return f"({drift_score()} > {threshold}) and on ({BY}, column) ({detected})"


def worst_drift(*, selector: str = "") -> str:
    """The largest distance of a column the monitor found drifted, per release (the rollout judges the
    worst one). A column past the threshold on a small window's noise alone counts as 0: its score
    times its `modelops_drift_detected` of 0."""
    score = f"max by ({BY}, column) ({_select(DRIFT, selector)})"
    detected = f"max by ({BY}, column) ({_select(DRIFT_DETECTED, selector)})"
    return f"max by ({BY}) ({score} * on ({BY}, column) {detected})"


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


def live_metric(*, selector: str = "") -> str:
    return f"max by ({BY}, metric) ({_select(LIVE_METRIC, selector)})"


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


# The rollout analysis (`modelops rollout analyze | advance`) pushes these, one group per model.
ROLLOUT_WEIGHT = "modelops_rollout_weight_percent"
ROLLOUT_DECISION = "modelops_rollout_decision"
ROLLOUT_CHECK = "modelops_rollout_check"
ROLLOUT_LAST_ANALYSIS = "modelops_rollout_last_analysis_timestamp_seconds"


def rollout_weight() -> str:
    """Each release's share of the traffic, as the overlay the analysis read sets it."""
    return f"max by ({BY}) ({ROLLOUT_WEIGHT})"


def rollout_decision() -> str:
    """1 for the decision the last analysis made (label `decision`), per model."""
    return f"max by (model, decision) ({ROLLOUT_DECISION}) == 1"


def rollout_checks() -> str:
    """Each check of the last analysis: 1 passed, 0 failed, -1 not measured (label `check`)."""
    return f"max by (model, check) ({ROLLOUT_CHECK})"


def label_in(label: str, values: Sequence[str]) -> str:
    """`label=~"a|b"` matching exactly these values (names of letters, digits, '_', '.', '-' only)."""
    for value in values:
        if not value or not all(ch.isalnum() or ch in "_.-" for ch in value):
            raise ValueError(f"{label} {value!r}: only letters, digits, '_', '.' and '-' in a matched name")
    # '.' is the one regex character such a name holds; escaped for RE2, then for the PromQL string.
    alternatives = "|".join(value.replace(".", "\\\\.") for value in values)
    return f'{label}=~"{alternatives}"'
