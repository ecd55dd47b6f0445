"""The canary analysis against a real Prometheus holding backfilled canary traffic.

One Prometheus serves every scenario (one model each); each test judges its own models with prod's
policy from environments/prod.yaml and records into the session's MLflow, as `analyze` does.
The attacker's cases sit beside the honest ones: a candidate with no traffic, NaN and +Inf in the
series, a stable with no traffic, another model's or namespace's series, a candidate pod labelled
stable, a route not yet synced, and a step whose commit date was moved back to reach into the step
before it. None may step or complete.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelops.bench.prometheus_history import OpenMetricsWriter, history
from modelops.config import load_environment
from modelops.gitops.releases.transitions import OverlayState, Release, Traffic
from modelops.rollouts.analysis import limits_of, window_for
from modelops.rollouts.analysis_run import Analysis, Rollout, analyze
from modelops.rollouts.queries import Planned, Prometheus, measure
from modelops.rollouts.records import AnalysisRecord, analyses, log_analysis
from tests.conftest import REPO_ROOT
from tests.rollouts.history import Monitored, Serving, write_monitor, write_serving
from tests.rollouts.history import Release as Served
from tests.tools import require_command

PROD = load_environment("prod", root=REPO_ROOT)
LIMITS = limits_of(PROD)
MINUTE = 60.0
# Whole minutes, a minute back: every window the tests read is fully scraped.
NOW = math.floor(time.time() / 60) * 60 - 60
START = NOW - 3 * 3600
STEP = NOW - 50 * MINUTE  # the current step began 50 minutes ago: its last 30 minutes are one full window
STABLE = Release("3", "s3://models/credit/3", "sha256:" + "3" * 64)
CANDIDATE = Release("4", "s3://models/credit/4", "sha256:" + "4" * 64)


def _pair(model: str, candidate: list[Serving] | None, *, stable_rps: float | None = 9.0) -> list[Served]:
    out = [] if stable_rps is None else [Served(model, "stable", [Serving(START, stable_rps)])]
    return out + ([Served(model, "candidate", candidate)] if candidate is not None else [])


def _canary(rps: float = 1.0, **how: float) -> list[Serving]:
    return [Serving(START, rps, **how)]


SERVED: list[Served] = [
    *_pair("healthy", _canary()),
    *_pair("last-step", _canary(5.0), stable_rps=5.0),
    *_pair("errors", _canary(error_share=0.05)),
    *_pair("slow-p95", _canary(latency_s=0.06)),
    *_pair("slow-p99", _canary(slow_share=0.03)),
    *_pair("regressed", _canary(latency_s=0.02)),  # within every absolute limit, clearly worse than stable
    *_pair("silent", None),
    *_pair("silent-too", None),
    *_pair("no-stable", _canary(), stable_rps=None),
    *_pair("nan-counts", _canary()),  # its candidate's counters are overwritten with NaN below
    *_pair("unsynced", _canary()),  # the overlay says 25%, the route still sends 10%
    *_pair("lonely", None),
    *_pair("lonely-2", _canary()),
    *_pair("lonelyx", _canary()),
    *_pair("a.b", None),
    *_pair("aXb", _canary()),
    Served("mislabelled", "stable", [Serving(START, 9.0)]),
    Served("mislabelled", "stable", [Serving(START, 1.0, error_share=0.2)], pod="candidate"),
    *_pair("elsewhere", None),
    Served("elsewhere", "candidate", [Serving(START, 1.0)], namespace="models-staging"),
    *_pair("straddle", [Serving(START, 1.0), Serving(NOW - 20 * MINUTE, 2.5)]),
    *_pair("live-worse", _canary()),
    *_pair("drift-inf", _canary()),
    *_pair("drift-noise", _canary()),
]
MONITORED = [
    Monitored("healthy", "stable", 0.03, (("roc_auc", 0.78),)),
    Monitored("healthy", "candidate", 0.04, (("roc_auc", 0.775),)),
    Monitored("live-worse", "stable", 0.03, (("roc_auc", 0.78),)),
    Monitored("live-worse", "candidate", 0.04, (("roc_auc", 0.70),)),
    Monitored("drift-inf", "stable", 0.03),
    Monitored("drift-inf", "candidate", math.inf),
    Monitored("drift-noise", "stable", 0.03),
    # Past the threshold on a quiet window's noise: the monitor did not find the column drifted.
    Monitored("drift-noise", "candidate", 0.3, drift_detected=False),
]


def _write(writer: OpenMetricsWriter) -> None:
    served = list(SERVED)
    # NaN counters: what a broken exporter or a bad recording rule could hand the analysis.
    nan_index = next(i for i, s in enumerate(served) if s.model == "nan-counts" and s.release == "candidate")
    served[nan_index] = Served("nan-counts", "candidate", [Serving(START, math.nan)])
    # Two pods both claiming to be stable: one of them is the candidate.
    write_serving(writer, served, start=START, end=NOW)
    write_monitor(writer, MONITORED, start=NOW - 40 * MINUTE, end=NOW)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    promtool, binary = require_command("promtool"), require_command("prometheus")
    workdir: Path = tmp_path_factory.mktemp("canary-history")
    with history(_write, workdir, promtool=promtool, binary=binary) as base:
        yield Prometheus(base)


def _rollout(model: str, percent: int = 10, *, step_start: float = STEP) -> Rollout:
    return Rollout(
        model, "prod", OverlayState(STABLE, CANDIDATE, Traffic(100 - percent, percent)), step_start
    )


def _judge(prometheus: Prometheus, *rollouts: Rollout, now: float = NOW) -> dict[str, Analysis]:
    done = analyze(list(rollouts), environment=PROD, prometheus=prometheus, now=now)
    return {a.rollout.model: a for a in done}


def _outcomes(analysis: Analysis) -> dict[str, str]:
    return {c.name: c.outcome for c in analysis.verdict.checks}


def test_a_drift_score_the_monitor_found_to_be_noise_does_not_abort_a_canary(prometheus: Prometheus) -> None:
    judged = _judge(prometheus, _rollout("drift-noise"))["drift-noise"]
    assert judged.verdict.decision == "step", judged.verdict.reasons
    assert _outcomes(judged)["live drift (worst column)"] == "pass"


def test_a_healthy_canary_steps_and_its_last_step_completes(prometheus: Prometheus) -> None:
    judged = _judge(prometheus, _rollout("healthy"), _rollout("last-step", 50))
    healthy = judged["healthy"]
    assert healthy.verdict.decision == "step", healthy.verdict.reasons
    assert set(_outcomes(healthy).values()) == {"pass"}
    assert {"live drift (worst column)", "live roc_auc"} <= set(_outcomes(healthy))  # the monitor's, judged
    assert healthy.candidate.requests == pytest.approx(1800, rel=0.02)  # 30 min at 1/s: the window only
    assert healthy.stable.requests == pytest.approx(9 * 1800, rel=0.02)
    assert judged["last-step"].verdict.decision == "complete", judged["last-step"].verdict.reasons
    # Each judgement is a record of the rollout history.
    [record] = analyses("healthy", environment="prod")
    assert (record.decision, record.candidate_percent, record.no_data) == ("step", 10, False)
    assert record.window_end - record.window_start == LIMITS.bake_seconds
    assert record.evidence["candidate.requests"] == pytest.approx(1800, rel=0.02)


@pytest.mark.parametrize(
    ("model", "failing"),
    [
        ("errors", {"error ratio", "error ratio against stable"}),
        ("slow-p95", {"p95 latency (s)", "p95 latency against stable"}),
        ("slow-p99", {"p99 latency (s)"}),
        ("regressed", {"p95 latency against stable"}),
        ("live-worse", {"live roc_auc"}),
        ("drift-inf", {"live drift (worst column)"}),
    ],
)
def test_a_failing_canary_aborts_naming_the_checks_that_failed(
    prometheus: Prometheus, model: str, failing: set[str]
) -> None:
    analysis = _judge(prometheus, _rollout(model))[model]
    assert analysis.verdict.decision == "abort"
    assert {name for name, outcome in _outcomes(analysis).items() if outcome == "fail"} == failing
    assert all(any(name in reason for reason in analysis.verdict.reasons) for name in failing)


def test_the_regression_is_the_comparisons_alone_every_absolute_limit_holds(prometheus: Prometheus) -> None:
    analysis = _judge(prometheus, _rollout("regressed"))["regressed"]
    assert analysis.candidate.p95_seconds < LIMITS.p95_seconds
    assert analysis.candidate.p99_seconds < LIMITS.policy.max_p99_ms / 1000


def test_no_traffic_waits_then_aborts_after_the_policys_empty_windows(prometheus: Prometheus) -> None:
    allowed = LIMITS.policy.empty_windows_to_abort
    rollout = _rollout("silent")
    decisions = []
    for k in range(allowed):
        now = NOW - (allowed - 1 - k) * LIMITS.policy.interval_seconds
        decisions.append(_judge(prometheus, rollout, now=now)["silent"].verdict)
        if k == 0:  # the same window judged again is not a second empty window
            again = _judge(prometheus, rollout, now=now)["silent"].verdict
            assert again.decision == "wait" and f"empty window 1 of {allowed}" in again.reason
    assert [v.decision for v in decisions] == ["wait"] * (allowed - 1) + ["abort"]
    assert all(v.no_data for v in decisions)
    assert f"no usable data in {allowed} consecutive windows" in decisions[-1].reason


@pytest.mark.parametrize(
    ("model", "percent", "why"),
    [
        ("silent-too", 10, "candidate answered no requests"),
        ("no-stable", 10, "stable answered no requests"),
        ("nan-counts", 10, "candidate answered no requests"),
        ("lonely", 10, "candidate answered no requests"),  # lonely-2's and lonelyx's series are not its
        ("a.b", 10, "candidate answered no requests"),  # '.' is no wildcard: aXb's series are not its
        ("mislabelled", 10, "candidate answered no requests"),
        ("elsewhere", 10, "candidate answered no requests"),  # staging's series are not prod's
        ("unsynced", 25, "not the step's 25%"),
    ],
)
def test_what_cannot_be_judged_waits_on_the_first_window(
    prometheus: Prometheus, model: str, percent: int, why: str
) -> None:
    verdict = _judge(prometheus, _rollout(model, percent))[model].verdict
    assert verdict.decision == "wait"
    assert verdict.no_data
    assert why in verdict.reason


def test_a_step_does_not_pass_before_its_bake_time(prometheus: Prometheus) -> None:
    young = _rollout("healthy", step_start=NOW - 10 * MINUTE)
    verdict = _judge(prometheus, young)["healthy"].verdict
    assert verdict.decision == "wait"
    assert "of 30 min" in verdict.reason


def test_a_back_dated_step_commit_cannot_reach_into_the_step_before(prometheus: Prometheus) -> None:
    """The 25% step began 20 minutes ago; its commit claims three hours. The 10% step's last recorded
    window ends where the 25% step began, so the window starts there: too young to pass."""
    real_start = NOW - 20 * MINUTE
    log_analysis(
        AnalysisRecord(
            "straddle",
            "prod",
            CANDIDATE.version,
            STABLE.version,
            10,
            real_start - 1800,
            real_start,
            "step",
            "ok",
        )
    )
    forged = _rollout("straddle", 25, step_start=START)
    analysis = _judge(prometheus, forged)["straddle"]
    assert analysis.verdict.decision == "wait", analysis.verdict.reasons
    assert analysis.window.start >= real_start
    # The control: believed, the forged date would have let the same traffic step.
    believed = window_for(START, NOW, candidate_percent=25, last_step=False, limits=LIMITS)
    assert believed.start < real_start


def test_one_batched_query_per_metric_measures_what_one_query_per_rollout_does(
    prometheus: Prometheus,
) -> None:
    windows = {
        "healthy": window_for(STEP, NOW, candidate_percent=10, last_step=False, limits=LIMITS),
        "errors": window_for(STEP, NOW, candidate_percent=10, last_step=False, limits=LIMITS),
        "regressed": window_for(NOW - 12 * MINUTE, NOW, candidate_percent=10, last_step=False, limits=LIMITS),
        "silent": window_for(STEP, NOW, candidate_percent=10, last_step=False, limits=LIMITS),
        "live-worse": window_for(STEP, NOW, candidate_percent=10, last_step=False, limits=LIMITS),
    }
    planned = [Planned(model, window) for model, window in windows.items()]
    interval = LIMITS.policy.interval_seconds
    batched = measure(prometheus, planned, namespace="models-prod", interval=interval)
    alone = measure(prometheus, planned, namespace="models-prod", interval=interval, batched=False)
    assert batched.keys() == alone.keys() == windows.keys()
    for model in windows:
        for role in ("stable", "candidate"):
            ours, theirs = batched[model][role], alone[model][role]
            assert ours.requests == pytest.approx(theirs.requests, nan_ok=True)
            assert ours.p95_per_interval == pytest.approx(theirs.p95_per_interval, nan_ok=True)
            assert ours.error_ratio_per_interval == pytest.approx(theirs.error_ratio_per_interval)
            assert ours.live_metrics == theirs.live_metrics
    # The young window (settled 10 minutes ago) is its own length and holds only its own intervals.
    assert len(batched["regressed"]["candidate"].p95_per_interval) == 10
    assert len(batched["healthy"]["candidate"].p95_per_interval) == 30
