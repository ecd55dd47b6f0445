"""The pure verdict: each limit on both sides of its boundary, what is not a number, the empty-window
count, and the policy's own rules. (Against a real Prometheus: test_analysis_prometheus.py.)"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from pydantic import ValidationError

from modelops.config import load_environment
from modelops.config.environment import RolloutPolicy
from modelops.config.rollout_analysis import RolloutAnalysis
from modelops.errors import InputError
from modelops.rollouts.analysis import (
    Limits,
    ReleaseMeasures,
    Window,
    consecutive_empty_windows,
    decide,
    limits_of,
    window_for,
)
from modelops.rollouts.records import AnalysisRecord
from tests.conftest import REPO_ROOT

POLICY = RolloutAnalysis(
    interval_seconds=60,
    bake_minutes=30,
    min_requests=200,
    max_error_ratio=0.01,
    max_p99_ms=120,
    empty_windows_to_abort=3,
)
LIMITS = Limits(POLICY, p95_seconds=0.040, drift_threshold=0.1)
BAKED = Window(start=0.0, end=1800.0, step_start=-300.0, candidate_percent=10, last_step=False)
INTERVALS = 30


def _release(
    requests: float, *, failed: float = 0.0, p95: float = 0.01, p99: float = 0.02
) -> ReleaseMeasures:
    return ReleaseMeasures(
        requests=requests,
        failed=failed,
        p95_seconds=p95,
        p99_seconds=p99,
        p95_per_interval=(p95,) * INTERVALS,
        error_ratio_per_interval=((failed / requests if requests else 0.0),) * INTERVALS,
    )


STABLE = _release(18_000)


def _verdict(
    candidate: ReleaseMeasures, stable: ReleaseMeasures = STABLE, *, window: Window = BAKED, empties=0
):
    return decide(candidate, stable, window=window, limits=LIMITS, empty_windows_before=empties)


def test_a_clean_baked_window_steps_and_at_the_last_step_completes() -> None:
    assert _verdict(_release(2000)).decision == "step"
    last = Window(0.0, 1800.0, -300.0, candidate_percent=50, last_step=True)
    assert _verdict(_release(10_000), _release(10_000), window=last).decision == "complete"


STABLE_FAILING = _release(18_000, failed=180)  # 1 %, so the comparison leaves the absolute limit to judge


@pytest.mark.parametrize(
    ("candidate", "decision"),
    [
        (_release(2000, failed=20), "step"),  # 1.0 %: at the limit
        (_release(2000, failed=21), "abort"),  # 1.05 %
        (_release(2000, p95=0.040), "abort"),  # at the SLA itself, but far above stable: the comparison
        (_release(2000, p95=0.0401), "abort"),
        (_release(2000, p99=0.120), "step"),
        (_release(2000, p99=0.1201), "abort"),
    ],
)
def test_each_absolute_limit_on_both_sides(candidate: ReleaseMeasures, decision: str) -> None:
    assert _verdict(candidate, STABLE_FAILING).decision == decision


def test_the_p95_limit_is_the_sla_when_stable_is_as_slow() -> None:
    slow_stable = _release(18_000, p95=0.038)
    assert _verdict(_release(2000, p95=0.040), slow_stable).decision == "step"
    assert _verdict(_release(2000, p95=0.0401), slow_stable).decision == "abort"


def test_the_comparison_allows_its_tolerance_and_no_more() -> None:
    # stable 10 ms; the default tolerance is 20 %: 11.9 ms is within it, 12.1 ms a regression.
    assert _verdict(_release(2000, p95=0.0119)).decision == "step"
    assert _verdict(_release(2000, p95=0.0121)).decision == "abort"


@pytest.mark.parametrize("requests", [199, math.nan, math.inf, -math.inf])
def test_too_little_or_no_number_of_requests_waits(requests: float) -> None:
    verdict = _verdict(_release(requests))
    assert (verdict.decision, verdict.no_data) == ("wait", True)


def test_enough_requests_on_the_boundary_is_judged() -> None:
    # 200 candidate requests is the minimum; its share against 1800 stable ones is the step's 10 %.
    assert _verdict(_release(200), _release(1800)).decision == "step"


@pytest.mark.parametrize("figure", ["p95_seconds", "p99_seconds"])
@pytest.mark.parametrize("value", [math.nan, -math.inf])
def test_a_latency_that_is_no_number_never_passes(figure: str, value: float) -> None:
    verdict = _verdict(replace(_release(2000), **{figure: value}))
    assert verdict.decision == "wait" and verdict.no_data


def test_an_infinite_latency_fails() -> None:
    assert _verdict(replace(_release(2000), p99_seconds=math.inf)).decision == "abort"


def test_too_few_intervals_for_the_comparison_never_pass() -> None:
    enough = replace(_release(2000), p95_per_interval=(0.01,) * 5, error_ratio_per_interval=(0.0,) * 5)
    assert _verdict(enough).decision == "step"  # the policy's default: 5 intervals
    sparse = replace(_release(2000), p95_per_interval=(0.01,) * 4, error_ratio_per_interval=(0.0,) * 4)
    verdict = _verdict(sparse)
    assert verdict.decision == "wait" and "4 candidate and 30 stable intervals; 5 needed" in verdict.reason


def test_a_candidate_share_far_from_its_step_waits() -> None:
    # 10 % step; the policy allows a relative gap of 50 %: 5 % and 15 % pass, beyond does not.
    assert _verdict(_release(1000), _release(19_000)).decision == "step"  # 5.0 %
    assert _verdict(_release(990), _release(19_010)).decision == "wait"  # 4.95 %
    assert _verdict(_release(5000), _release(4000)).decision == "wait"  # 55 %: a 50 % route, or a liar


@pytest.mark.parametrize("percent", [0, 100])
def test_a_step_that_is_no_canary_is_never_passed(percent: int) -> None:
    window = Window(0.0, 1800.0, -300.0, candidate_percent=percent, last_step=True)
    verdict = _verdict(_release(2000), window=window)
    assert verdict.decision == "wait" and "no canary to judge" in verdict.reason


def test_no_data_aborts_only_at_the_policys_count_and_never_in_a_young_step() -> None:
    nothing = ReleaseMeasures()
    assert _verdict(nothing, empties=0).decision == "wait"
    assert _verdict(nothing, empties=1).decision == "wait"
    assert _verdict(nothing, empties=2).decision == "abort"
    young = Window(1500.0, 1800.0, 1380.0, 10, False)
    assert _verdict(nothing, window=young, empties=5).decision == "wait"


def test_a_failing_check_aborts_before_the_bake_time() -> None:
    young = Window(1500.0, 1800.0, 1380.0, 10, False)
    failing = replace(
        _release(2000, failed=100), p95_per_interval=(0.01,) * 5, error_ratio_per_interval=(0.05,) * 5
    )
    stable = replace(STABLE, p95_per_interval=(0.01,) * 5, error_ratio_per_interval=(0.0,) * 5)
    assert _verdict(failing, stable, window=young).decision == "abort"
    passing = replace(_release(2000), p95_per_interval=(0.01,) * 5, error_ratio_per_interval=(0.0,) * 5)
    assert _verdict(passing, stable, window=young).decision == "wait"


def _record(
    percent: int, start: float, end: float, *, no_data: bool = True, version: str = "4"
) -> AnalysisRecord:
    return AnalysisRecord("m", "prod", version, "3", percent, start, end, "wait", "r", no_data=no_data)


def _count(records: list[AnalysisRecord], *, current_end: float = 99_999.0) -> int:
    return consecutive_empty_windows(
        records,
        candidate_version="4",
        stable_version="3",
        candidate_percent=10,
        step_start=0.0,
        limits=LIMITS,
        current_end=current_end,
    )


def test_empty_windows_count_once_each_and_only_for_this_step() -> None:
    full = [_record(10, 1000.0 * k, 1000.0 * k + 1800) for k in range(1, 4)]
    assert _count(full) == 3
    assert _count([*full, _record(10, 3000.0, 4800.0)]) == 3  # the same window twice is one window
    assert _count([_record(10, 100.0, 400.0)]) == 0  # a young window is no empty one
    assert _count([_record(25, 1000.0, 2800.0), _record(10, 1000.0, 2800.0, version="5")]) == 0
    assert _count([_record(10, -2000.0, -200.0)]) == 0  # from before the step began
    judged = _record(10, 2500.0, 4300.0, no_data=False)
    assert _count([full[0], judged, full[2]]) == 1  # consecutive: a judged window resets the count
    assert _count(full, current_end=full[-1].window_end) == 2  # the window judged now is not counted twice


def test_the_window_never_starts_before_the_step_settled_and_is_at_most_the_bake_time() -> None:
    young = window_for(1000.0, 2000.0, candidate_percent=10, last_step=False, limits=LIMITS)
    assert young.start >= 1000.0 + POLICY.settle_seconds and young.start % 60 == 0 and young.end == 1980.0
    old = window_for(0.0, 100_000.0, candidate_percent=10, last_step=False, limits=LIMITS)
    assert old.seconds == LIMITS.bake_seconds
    future = window_for(5000.0, 2000.0, candidate_percent=10, last_step=False, limits=LIMITS)
    assert future.seconds == 0 and _verdict(_release(2000), window=future).decision == "wait"


def test_the_p95_limit_is_the_environments_latency_sla_read_from_it() -> None:
    prod = load_environment("prod", root=REPO_ROOT)
    assert limits_of(prod).p95_seconds == prod.promotion.latency.p95_ms / 1000
    assert limits_of(prod).drift_threshold == prod.promotion.drift.distance_threshold
    with pytest.raises(InputError, match=r"gitops\.rollout\.analysis is not set"):
        limits_of(load_environment("staging", root=REPO_ROOT))


def test_the_policy_refuses_what_could_never_pass_or_never_apply() -> None:
    with pytest.raises(ValidationError, match="no step could pass"):
        RolloutAnalysis(max_p99_ms=100, bake_minutes=4, interval_seconds=60)
    with pytest.raises(ValidationError, match="greater than or equal to 2"):
        RolloutAnalysis(max_p99_ms=100, empty_windows_to_abort=1)  # never abort on the first empty window
    with pytest.raises(ValidationError, match="analysis applies to canary rollouts only"):
        RolloutPolicy(strategy="direct", analysis=POLICY)
    with pytest.raises(ValidationError, match="Extra inputs"):
        RolloutAnalysis.model_validate({"max_p99_ms": 100, "max_eror_ratio": 0.5})


def test_a_step_bakes_as_long_as_the_rollouts_own_plan_says():
    from modelops.gitops.releases.transitions import OverlayState, Release, Traffic
    from modelops.rollouts.analysis_run import limits_of_step
    from modelops.rollouts.plan_schedule import Schedule

    stable = Release("3", "s3://models/3", "sha256:" + "3" * 64)
    candidate = Release("4", "s3://models/4", "sha256:" + "4" * 64)
    planned = OverlayState(stable, candidate, Traffic(95, 5), plan=Schedule((5, 20, 50), (90, 60, 30)))
    assert limits_of_step(LIMITS, planned).bake_minutes == 90
    assert limits_of_step(LIMITS, replace(planned, traffic=Traffic(80, 20))).bake_minutes == 60
    assert limits_of_step(LIMITS, replace(planned, plan=None)).bake_minutes == POLICY.bake_minutes
    # 60 minutes into a step the plan bakes for 90: still baking, however well it does.
    start = 1_800_000_000.0
    window = window_for(start, start + 3600, candidate_percent=5, last_step=False, limits=LIMITS)
    longer = window_for(
        start, start + 3600, candidate_percent=5, last_step=False, limits=limits_of_step(LIMITS, planned)
    )
    assert window.seconds == LIMITS.bake_seconds  # the policy's own bake is over: a full window
    assert longer.seconds == 3600 - POLICY.settle_seconds  # the plan's: all the settled step so far...
    assert longer.seconds < limits_of_step(LIMITS, planned).bake_seconds  # ...short of its 90 minutes
