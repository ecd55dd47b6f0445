"""The canary verdict: step, complete, abort or wait, from what Prometheus measured over one step's window.

Pure: the measures, the window and the policy come in, a `Verdict` with its reasons and evidence
comes out. The rules, in the order they apply:

- A window without enough traffic from both releases, or whose candidate share is not the step's
  (an unsynced route, a window holding another step's traffic, a mislabelled pod), cannot be judged:
  "wait", never a pass and never an abort, until the policy's number of consecutive full-length
  empty windows of this step is reached; then "abort", saying so.
- With enough traffic, any failing check aborts at once (fail fast, as Flagger does).
- A figure that is not a finite number is not measured; a check that is not measured never passes.
- Only when every check passed over a window as long as the bake time may the step pass: "step",
  or "complete" at the last step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from modelops.config.environment import Environment
from modelops.config.rollout_analysis import RolloutAnalysis, Tolerance
from modelops.errors import InputError
from modelops.rollouts.records import AnalysisRecord, Decision

Outcome = Literal["pass", "fail", "no data"]
NOT_MEASURED = math.nan


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


@dataclass(frozen=True)
class ReleaseMeasures:
    """One release's figures over the window. NaN (or any non-finite value) means not measured."""

    requests: float = NOT_MEASURED
    failed: float = NOT_MEASURED
    p95_seconds: float = NOT_MEASURED
    p99_seconds: float = NOT_MEASURED
    # One value per sample interval of the window, for the candidate-against-stable test.
    p95_per_interval: tuple[float, ...] = ()
    error_ratio_per_interval: tuple[float, ...] = ()
    worst_drift: float | None = None  # None: the monitor published no drift for it
    live_metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def error_ratio(self) -> float:
        if not (finite(self.requests) and finite(self.failed)) or self.requests <= 0:
            return NOT_MEASURED
        return self.failed / self.requests


@dataclass(frozen=True)
class Window:
    """The part of one step the analysis reads, in unix seconds."""

    start: float
    end: float
    step_start: float  # when the step's traffic.yaml change was committed
    candidate_percent: int
    last_step: bool

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Limits:
    """What a step is judged against: the policy, plus the environment's own SLA and drift threshold."""

    policy: RolloutAnalysis
    p95_seconds: float  # promotion.latency.p95_ms: the same number the latency gate holds
    drift_threshold: float  # promotion.drift.distance_threshold
    # The step's bake time: the rollout's own plan's for this step (written into the overlay by
    # `promote`, never below the environment's minimum), else the analysis policy's.
    bake_minutes: int = 0

    def __post_init__(self) -> None:
        if not self.bake_minutes:
            object.__setattr__(self, "bake_minutes", self.policy.bake_minutes)

    @property
    def bake_seconds(self) -> float:
        return self.bake_minutes * 60.0


def limits_of(environment: Environment) -> Limits:
    policy = environment.gitops.rollout.analysis
    if policy is None:
        raise InputError(
            f"environments/{environment.name}.yaml: gitops.rollout.analysis is not set; "
            "this environment's rollouts are not analysed"
        )
    return Limits(
        policy=policy,
        p95_seconds=environment.promotion.latency.p95_ms / 1000.0,
        drift_threshold=environment.promotion.drift.distance_threshold,
    )


def window_for(
    step_start: float, now: float, *, candidate_percent: int, last_step: bool, limits: Limits
) -> Window:
    """The last bake-length of the step, on the sample-interval grid, never before the step settled.

    The start is rounded up and the end down, so a window never reaches into the step before it;
    rollouts analysed together share the grid (and, once baked, one window length).
    """
    interval = limits.policy.interval_seconds
    end = math.floor(now / interval) * interval
    settled = math.ceil((step_start + limits.policy.settle_seconds) / interval) * interval
    start = max(settled, end - limits.bake_seconds)
    return Window(
        start=float(min(start, end)),
        end=float(end),
        step_start=step_start,
        candidate_percent=candidate_percent,
        last_step=last_step,
    )


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    candidate: float
    stable: float
    limit: str
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reasons: tuple[str, ...]
    checks: tuple[Check, ...]
    no_data: bool  # the window held too little usable traffic to judge

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _limit_check(name: str, value: float, limit: float, *, stable: float, unit: str = "") -> Check:
    """An upper limit. +Inf is beyond any limit (the monitor publishes an unmeasurable column's drift
    as +Inf, which the gate counts as drifted); NaN and -Inf are not measurements."""
    if math.isnan(value) or value == -math.inf:
        return Check(name, "no data", value, stable, f"<= {limit:g}{unit}", "not measured")
    outcome: Outcome = "pass" if value <= limit else "fail"
    return Check(name, outcome, value, stable, f"<= {limit:g}{unit}", f"{value:.4g}{unit}")


def _compare(
    name: str, candidate: Sequence[float], stable: Sequence[float], tolerance: Tolerance, limits: Limits
) -> Check:
    """Kayenta's question, one-sided: is the candidate significantly worse than stable plus tolerance?"""
    from scipy.stats import mannwhitneyu

    comparison = limits.policy.comparison
    ours = [v for v in candidate if finite(v)]
    theirs = [v * (1 + tolerance.relative) + tolerance.absolute for v in stable if finite(v)]
    limit = (
        f"not above stable x{1 + tolerance.relative:g} + {tolerance.absolute:g} at p < {comparison.p_value:g}"
    )
    if min(len(ours), len(theirs)) < comparison.min_intervals:
        detail = (
            f"{len(ours)} candidate and {len(theirs)} stable intervals; {comparison.min_intervals} needed"
        )
        return Check(name, "no data", NOT_MEASURED, NOT_MEASURED, limit, detail)
    p_value = float(mannwhitneyu(ours, theirs, alternative="greater").pvalue)
    if not finite(p_value):  # no test is a failed test: fail closed
        return Check(name, "fail", p_value, NOT_MEASURED, limit, "the test gave no p-value")
    outcome: Outcome = "fail" if p_value < comparison.p_value else "pass"
    median = sorted(ours)[len(ours) // 2], sorted(theirs)[len(theirs) // 2]
    detail = f"p = {p_value:.3g}; medians {median[0]:.4g} against {median[1]:.4g} (tolerance applied)"
    return Check(name, outcome, p_value, NOT_MEASURED, limit, detail)


def _monitor_checks(candidate: ReleaseMeasures, stable: ReleaseMeasures, limits: Limits) -> list[Check]:
    """The monitor job's live figures, judged where it published them (its window is its own)."""
    checks = []
    if candidate.worst_drift is not None:
        checks.append(
            _limit_check(
                "live drift (worst column)",
                candidate.worst_drift,
                limits.drift_threshold,
                stable=stable.worst_drift if stable.worst_drift is not None else NOT_MEASURED,
            )
        )
    drop = limits.policy.max_live_metric_drop
    for metric in sorted(set(candidate.live_metrics) & set(stable.live_metrics)):
        ours, theirs = candidate.live_metrics[metric], stable.live_metrics[metric]
        if not (finite(ours) and finite(theirs)):
            # Published but not a number: treated as a failure to measure, which never passes.
            checks.append(
                Check(f"live {metric}", "no data", ours, theirs, f">= stable - {drop:g}", "not a number")
            )
            continue
        outcome: Outcome = "pass" if ours >= theirs - drop else "fail"
        checks.append(
            Check(
                f"live {metric}",
                outcome,
                ours,
                theirs,
                f">= stable - {drop:g}",
                f"{ours:.4g} vs {theirs:.4g}",
            )
        )
    return checks


def _traffic_problem(
    candidate: ReleaseMeasures, stable: ReleaseMeasures, window: Window, limits: Limits
) -> str:
    """Why the window's traffic cannot be judged, or '' when it can."""
    need = limits.policy.min_requests
    for role, measures in (("candidate", candidate), ("stable", stable)):
        if not finite(measures.requests) or measures.requests < need:
            got = f"{measures.requests:.0f}" if finite(measures.requests) else "no"
            return f"{role} answered {got} requests in the window; {need} needed"
    share = candidate.requests / (candidate.requests + stable.requests)
    expected = window.candidate_percent / 100
    if not 0 < expected < 1:  # a shadow, or no canary at all: not this analysis' to judge
        return f"the step gives the candidate {window.candidate_percent}% of requests: no canary to judge"
    if abs(share - expected) / expected > limits.policy.max_share_deviation:
        return (
            f"the candidate answered {share:.1%} of requests, not the step's {window.candidate_percent}%: "
            "the window does not hold this step's traffic"
        )
    return ""


def checks_of(candidate: ReleaseMeasures, stable: ReleaseMeasures, limits: Limits) -> list[Check]:
    policy = limits.policy
    requests = Check(
        "requests", "pass", candidate.requests, stable.requests, f">= {policy.min_requests} each", ""
    )
    return [
        requests,
        _limit_check("error ratio", candidate.error_ratio, policy.max_error_ratio, stable=stable.error_ratio),
        _limit_check("p95 latency (s)", candidate.p95_seconds, limits.p95_seconds, stable=stable.p95_seconds),
        _limit_check(
            "p99 latency (s)", candidate.p99_seconds, policy.max_p99_ms / 1000, stable=stable.p99_seconds
        ),
        _compare(
            "p95 latency against stable",
            candidate.p95_per_interval,
            stable.p95_per_interval,
            policy.comparison.latency_p95,
            limits,
        ),
        _compare(
            "error ratio against stable",
            candidate.error_ratio_per_interval,
            stable.error_ratio_per_interval,
            policy.comparison.error_ratio,
            limits,
        ),
        *_monitor_checks(candidate, stable, limits),
    ]


def decide(
    candidate: ReleaseMeasures,
    stable: ReleaseMeasures,
    *,
    window: Window,
    limits: Limits,
    empty_windows_before: int,
) -> Verdict:
    """The verdict on one step's window. `empty_windows_before`: consecutive full-length empty windows
    already recorded for this step (see `consecutive_empty_windows`)."""
    baked = window.seconds >= limits.bake_seconds

    def empty(why: str, checks: tuple[Check, ...] = ()) -> Verdict:
        if not baked:  # a young step's short window is not yet an empty one
            wait = f"baking: {window.seconds / 60:.0f} of {limits.bake_minutes} min; {why}"
            return Verdict("wait", (wait,), checks, no_data=True)
        count = empty_windows_before + 1
        allowed = limits.policy.empty_windows_to_abort
        if count >= allowed:
            reason = f"no usable data in {count} consecutive windows of this step (abort at {allowed}): {why}"
            return Verdict("abort", (reason,), checks, no_data=True)
        return Verdict("wait", (f"{why} (empty window {count} of {allowed})",), checks, no_data=True)

    if window.seconds <= 0:
        return empty("the step's window has not opened yet (settling after the step's commit)")
    if problem := _traffic_problem(candidate, stable, window, limits):
        return empty(problem)
    checks = tuple(checks_of(candidate, stable, limits))
    if failed := [c for c in checks if c.outcome == "fail"]:
        return Verdict(
            "abort", tuple(f"{c.name}: {c.detail} (limit {c.limit})" for c in failed), checks, False
        )
    if unmeasured := [c for c in checks if c.outcome == "no data"]:
        return empty("; ".join(f"{c.name}: {c.detail}" for c in unmeasured), checks)
    if not baked:
        reason = f"baking: {window.seconds / 60:.0f} of {limits.bake_minutes} min, every check passing"
        return Verdict("wait", (reason,), checks, no_data=False)
    if window.last_step:
        return Verdict("complete", ("every check passed at the last step",), checks, no_data=False)
    return Verdict("step", (f"every check passed at {window.candidate_percent}%",), checks, no_data=False)


def consecutive_empty_windows(
    records: Sequence[AnalysisRecord],
    *,
    candidate_version: str,
    stable_version: str,
    candidate_percent: int,
    step_start: float,
    limits: Limits,
    current_end: float,
) -> int:
    """Full-length empty windows recorded for this step before the window ending at `current_end`,
    newest backwards until a judged one.

    Windows count once however often the analysis ran: two records whose windows end within one
    sample interval are one window, and the window being judged now is never one of those before it.
    Records from before the step began, or of another rollout or step, never count.
    """
    interval = limits.policy.interval_seconds
    ends: set[int] = set()
    current = int(current_end // interval)
    for record in sorted(records, key=lambda r: r.window_end, reverse=True):
        same_step = (
            record.candidate_version == candidate_version
            and record.stable_version == stable_version
            and record.candidate_percent == candidate_percent
            and record.window_start >= step_start
        )
        if not same_step:
            continue
        if not record.no_data:
            break
        if record.window_end - record.window_start >= limits.bake_seconds:
            ends.add(int(record.window_end // interval))
    ends.discard(current)
    return len(ends)


def evidence_of(verdict: Verdict, candidate: ReleaseMeasures, stable: ReleaseMeasures) -> dict[str, float]:
    """The figures a record keeps (NaN where not measured; the record drops those)."""
    figures: dict[str, float] = {}
    for role, measures in (("candidate", candidate), ("stable", stable)):
        figures[f"{role}.requests"] = measures.requests
        figures[f"{role}.error_ratio"] = measures.error_ratio
        figures[f"{role}.p95_seconds"] = measures.p95_seconds
        figures[f"{role}.p99_seconds"] = measures.p99_seconds
    for check in verdict.checks:
        if "against stable" in check.name:
            figures[f"p_value.{check.name.replace(' ', '_')}"] = check.candidate
    return {k: v if finite(v) else NOT_MEASURED for k, v in figures.items()}
