"""Typed model of `environments/<env>.yaml`'s `rightsizing:` section: how `modelops rightsize`
turns a release's usage history into requests and limits.

The defaults are the anchors' own: krr's simple strategy (CPU request at the 95th percentile of
usage, memory at the peak plus 15 %) and the VPA recommender's confidence margin and OOM bump.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DURATION = re.compile(r"([1-9]\d*)([mhd])")
_SECONDS = {"m": 60, "h": 3600, "d": 86_400}


def duration_seconds(text: str) -> int:
    """'5m', '36h', '14d' in seconds; ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is no duration: give a whole number of minutes, hours or days (5m, 14d)")
    return int(match.group(1)) * _SECONDS[match.group(2)]


class RightsizingPolicy(BaseModel):
    # A typo in a threshold name must be an error, never a silently ignored key.
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: str = Field("14d", description="History read by default (--window overrides it).")
    resolution: str = Field(
        "5m",
        description="Width of one usage sample: CPU is a rate over this long, the percentile is taken "
        "over one sample per this step. Must hold at least two scrapes.",
    )
    min_history_days: float = Field(
        7.0, gt=0.0, description="Days of usage history below which no recommendation is made."
    )
    cpu_percentile: float = Field(0.95, ge=0.5, le=1.0, description="krr: the CPU request's percentile.")
    memory_headroom: float = Field(
        0.15, ge=0.0, le=1.0, description="krr: memory request and limit are the peak plus this share."
    )
    confidence_multiplier: float = Field(
        1.0,
        ge=0.0,
        description="VPA's upper-bound margin: estimates are scaled by (1 + multiplier / days) ** exponent, "
        "so one day of history doubles them and two weeks adds 7 %.",
    )
    confidence_exponent: float = Field(1.0, ge=0.0)
    oom_bump_ratio: float = Field(
        1.2, ge=1.0, description="VPA: after an OOM kill, memory is at least the killed limit times this."
    )
    oom_min_bump_mib: float = Field(
        100.0, ge=0.0, description="VPA: after an OOM kill, memory is at least the killed limit plus this."
    )
    max_throttled_share: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Share of CFS periods throttled above which usage is capped by the limit, not "
        "measured: the CPU request is not lowered and the limit is raised.",
    )
    throttled_limit_bump: float = Field(2.0, ge=1.0, description="Factor a throttled CPU limit is raised by.")
    cpu_limit_ratio: float = Field(
        4.0, ge=1.0, description="The CPU limit is at least the request times this (the base's 250m : 1)."
    )
    min_cpu_millicores: int = Field(50, ge=1, description="Floor of the CPU request.")
    min_memory_mib: int = Field(256, ge=1, description="Floor of the memory request and limit.")
    latency_headroom: float = Field(
        0.2,
        gt=0.0,
        lt=1.0,
        description="CPU is never lowered while the release's p95 latency over the window is at or above "
        "(1 - this) x the environment's promotion.latency.p95_ms.",
    )
    min_change: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="A decrease smaller than this share of the current value is not proposed (no churn); "
        "increases always are.",
    )

    @field_validator("window", "resolution")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        duration_seconds(value)
        return value

    @model_validator(mode="after")
    def _window_can_hold_the_history(self) -> RightsizingPolicy:
        if duration_seconds(self.window) < self.min_history_days * 86_400:
            raise ValueError(
                f"window {self.window} is shorter than min_history_days {self.min_history_days:g}: "
                "no recommendation could ever be made"
            )
        return self

    @property
    def window_s(self) -> int:
        return duration_seconds(self.window)

    @property
    def resolution_s(self) -> int:
        return duration_seconds(self.resolution)
