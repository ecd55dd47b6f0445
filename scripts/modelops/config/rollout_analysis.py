"""Typed model of `gitops.rollout.analysis` in `environments/<env>.yaml`: how a canary step is judged.

Absolute limits as Flagger has them (error ratio, p99; the p95 limit is the environment's own
`promotion.latency.p95_ms`, read from there, never copied here), a candidate-against-stable
comparison as Kayenta makes it (a one-sided Mann-Whitney U test over per-interval samples, against
stable shifted by a tolerance), the traffic a window needs before it can be judged, the bake time of
each step, and how many empty windows in a row end a rollout.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    # A typo in a threshold name must be an error, never a silently ignored key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tolerance(_Strict):
    """How much worse than stable the candidate may be before a significant difference counts:
    it is compared against `stable * (1 + relative) + absolute`."""

    relative: float = Field(0.0, ge=0.0, le=10.0)
    absolute: float = Field(0.0, ge=0.0)


class Comparison(_Strict):
    p_value: float = Field(
        0.05, gt=0.0, lt=0.5, description="Significance level of the one-sided Mann-Whitney U test."
    )
    min_intervals: int = Field(
        5, ge=3, description="Intervals each release needs in the window before the test can judge."
    )
    latency_p95: Tolerance = Field(default_factory=lambda: Tolerance(relative=0.2))
    error_ratio: Tolerance = Field(default_factory=lambda: Tolerance(relative=0.5, absolute=0.005))


class RolloutAnalysis(_Strict):
    interval_seconds: int = Field(
        60, ge=15, le=3600, description="Length of one sample interval (Prometheus' scrape must fit in it)."
    )
    bake_minutes: int = Field(
        30,
        ge=1,
        description="A step runs at least this long before it may pass; its window is the "
        "last `bake_minutes` of the step (never earlier than the step's start).",
    )
    settle_seconds: int = Field(
        120, ge=0, description="Skipped after the step's commit: Argo CD and the route need it to apply."
    )
    min_requests: int = Field(
        200, ge=1, description="Requests each of candidate and stable must answer in a window to be judged."
    )
    max_error_ratio: float = Field(0.01, ge=0.0, le=1.0, description="Largest share of 5xx answers.")
    max_p99_ms: float = Field(gt=0.0, description="Largest p99 latency of the candidate.")
    max_live_metric_drop: float = Field(
        0.02, ge=0.0, le=1.0, description="Largest drop of a monitor's live metric below stable's."
    )
    max_share_deviation: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="Largest relative gap between the candidate's observed share of "
        "requests and its step: beyond it the window is not this step's traffic (an unsynced route, a "
        "mislabelled pod) and cannot be judged.",
    )
    empty_windows_to_abort: int = Field(
        3,
        ge=2,
        description="Consecutive windows without enough traffic, in one step, that abort it "
        "(never the first).",
    )
    comparison: Comparison = Field(default_factory=Comparison)
    auto_merge_steps: bool = Field(False, description="Passing step pull requests merge by themselves.")
    auto_merge_complete: bool = Field(
        False, description="A passing complete pull request merges by itself (no review)."
    )
    cronjob: bool = Field(
        False,
        description="Run the rounds as a CronJob in the environment's cluster (its Prometheus is "
        "private) instead of .github/workflows/rollout.yml; take the environment out of that matrix.",
    )

    @model_validator(mode="after")
    def _bake_holds_enough_intervals(self) -> RolloutAnalysis:
        if self.bake_minutes * 60 < self.comparison.min_intervals * self.interval_seconds:
            raise ValueError(
                f"bake_minutes {self.bake_minutes} holds fewer than comparison.min_intervals "
                f"({self.comparison.min_intervals}) intervals of {self.interval_seconds} s: "
                "no step could pass"
            )
        return self
