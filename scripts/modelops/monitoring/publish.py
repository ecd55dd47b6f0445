"""The monitor's results as Prometheus series, pushed to the Pushgateway.

One push replaces the whole group (job, model): a release that no longer serves, or a column no
longer measured, disappears instead of showing its last value forever. Series names are the ones
`infra/modelops_infra/manifests/promql.py` reads.
"""

from __future__ import annotations

import logging
import math
import time
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler

from modelops.errors import InputError
from modelops.monitoring.job import MonitorReport

JOB = "modelops-monitor"
PUSH_TIMEOUT_S = 5.0
PUSH_ATTEMPTS = 3
PUSH_BACKOFF_S = 2.0

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The Pushgateway could not be reached (or refused the push) after every attempt."""


@dataclass(frozen=True)
class PushLogin:
    """The basic-auth login the platform's Pushgateway requires of every push (its web config)."""

    username: str
    password: str = field(repr=False)


def push_login(environ: Mapping[str, str]) -> PushLogin | None:
    """The login from MODELOPS_PUSHGATEWAY_USERNAME and the file MODELOPS_PUSHGATEWAY_PASSWORD_FILE
    names (a mounted Secret, read at each run so a rotated one is picked up); None when neither is set.
    One without the other is an InputError: a push would be refused only after its retries."""
    username = environ.get("MODELOPS_PUSHGATEWAY_USERNAME", "")
    password_file = environ.get("MODELOPS_PUSHGATEWAY_PASSWORD_FILE", "")
    if not username and not password_file:
        return None
    if not (username and password_file):
        raise InputError(
            "MODELOPS_PUSHGATEWAY_USERNAME and MODELOPS_PUSHGATEWAY_PASSWORD_FILE go together: set both"
        )
    try:
        password = Path(password_file).read_text().strip()
    except OSError as error:
        raise InputError(f"MODELOPS_PUSHGATEWAY_PASSWORD_FILE {password_file}: {error.strerror}") from None
    if not password:
        raise InputError(f"MODELOPS_PUSHGATEWAY_PASSWORD_FILE {password_file}: the file is empty")
    return PushLogin(username, password)


def registry_for(report: MonitorReport, *, now: float) -> CollectorRegistry:
    """Every series one run publishes. The last-success timestamp only when every release was measured."""
    registry = CollectorRegistry()
    by_release = ["model", "release"]

    def gauge(name: str, documentation: str, labels: list[str] = by_release) -> Gauge:
        return Gauge(name, documentation, labels, registry=registry)

    drift = gauge(
        "modelops_drift_score",
        "Distance of a column between the release's reference and the window (the gate's scale: normed "
        "Wasserstein or bias-corrected Jensen-Shannon); +Inf when the gate could not measure it (missing "
        "column, changed kind, missing values rose, infinite values), which it counts as drifted",
        ["model", "release", "column"],
    )
    drifted = gauge(
        "modelops_drift_detected",
        "1 when the gate's rule finds the column drifted (distance at the threshold and, for a category, "
        "past the permutation test; or not measurable)",
        ["model", "release", "column"],
    )
    prediction = gauge(
        "modelops_prediction_drift_score",
        "Distance between the served scores and the scores the version gives its reference",
    )
    rows = gauge("modelops_monitor_rows", "Rows the release's version served in the window")
    labelled = gauge("modelops_monitor_labelled_rows", "Rows of the window with a ground-truth label")
    metric = gauge(
        "modelops_live_metric", "A metric on the window's labelled rows", ["model", "release", "metric"]
    )
    agreement = gauge(
        "modelops_shadow_agreement",
        "Share of the shadow's rows decided as stable decided the same input (decision threshold)",
    )
    divergence = gauge(
        "modelops_shadow_score_divergence", "Mean absolute difference of shadow and stable scores"
    )
    matched = gauge("modelops_shadow_matched_rows", "Shadow rows whose input stable also scored")
    for result in report.releases:
        who = {"model": report.model, "release": result.release.role}
        if result.failed:  # unusable input: nothing measured, and the run is no success
            continue
        if not result.rows:  # a quiet window: zero rows, and no distance pretending all is well
            rows.labels(**who).set(0)
            continue
        rows.labels(**who).set(result.rows)
        for column in result.columns:
            score = math.inf if column.score is None and column.problem else column.score
            if score is not None:
                drift.labels(**who, column=column.name).set(score)
            drifted.labels(**who, column=column.name).set(int(column.drifted))
        if result.prediction is not None and result.prediction.score is not None:
            prediction.labels(**who).set(result.prediction.score)
        labelled.labels(**who).set(result.labelled_rows)
        for name, value in result.metrics.items():
            if not math.isnan(value):
                metric.labels(**who, metric=name).set(value)
        if result.shadow is not None:
            matched.labels(**who).set(result.shadow.matched_rows)
            if result.shadow.matched_rows:
                agreement.labels(**who).set(result.shadow.agreement)
                divergence.labels(**who).set(result.shadow.divergence)
    if not report.errors:
        success = Gauge(
            "modelops_monitor_last_success_timestamp_seconds",
            "When the monitor last measured every live release of the model",
            ["model"],
            registry=registry,
        )
        success.labels(model=report.model).set(now)
    return registry


def push(
    registry: CollectorRegistry,
    *,
    gateway: str,
    model: str,
    job: str = JOB,
    attempts: int = PUSH_ATTEMPTS,
    timeout_s: float = PUSH_TIMEOUT_S,
    backoff_s: float = PUSH_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
    login: PushLogin | None = None,
) -> None:
    """PUT the group (job, model), retrying with a doubling pause; PublishError after the last attempt."""

    def handler(
        url: str, method: str, timeout: float | None, headers: list, data: bytes
    ) -> Callable[[], None]:
        if login is None:
            return default_handler(url, method, timeout, headers, data)
        return basic_auth_handler(url, method, timeout, headers, data, login.username, login.password)

    last = ""
    for attempt in range(1, attempts + 1):
        try:
            push_to_gateway(
                gateway,
                job=job,
                registry=registry,
                grouping_key={"model": model},
                timeout=timeout_s,
                handler=handler,
            )
            return
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):  # the login is wrong or missing: no retry will change that
                given = f"as {login.username}" if login else "without a login"
                raise PublishError(
                    f"Pushgateway {gateway} refused the push {given}: HTTP {error.code} "
                    "(MODELOPS_PUSHGATEWAY_USERNAME, MODELOPS_PUSHGATEWAY_PASSWORD_FILE)"
                ) from None
            last = f"HTTP {error.code} {error.reason}"
            log.warning("push to %s failed (attempt %d of %d): %s", gateway, attempt, attempts, last)
            if attempt < attempts:
                sleep(backoff_s * 2 ** (attempt - 1))
        except OSError as error:  # refused or timed out
            last = str(error).splitlines()[0] if str(error) else type(error).__name__
            log.warning("push to %s failed (attempt %d of %d): %s", gateway, attempt, attempts, last)
            if attempt < attempts:
                sleep(backoff_s * 2 ** (attempt - 1))
    raise PublishError(f"Pushgateway {gateway} unreachable after {attempts} attempts: {last}")
