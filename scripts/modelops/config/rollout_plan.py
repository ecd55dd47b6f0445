"""Typed `gitops.rollout.plan` of `environments/<env>.yaml`: the bounds a learned rollout plan lives in.

A plan (see modelops.rollouts.plan) is a step schedule and a bake time per step. Caution, in this
project, means: a small first share of traffic, many checkpoints, long bakes at each, and the same
last share before completion as the policy's schedule. The `minimum` is the least caution any plan
may show; the `cautious_*` fields are where a plan goes after a recent failure; the rates place a
model's estimated chance of a failed step between the two.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanMinimum(_Strict):
    """The least cautious plan allowed: no plan, learned or hand-written, may go beyond it."""

    max_first_step: int = Field(ge=1, le=99, description="Largest candidate share of the first step.")
    min_steps: int = Field(ge=2, description="Fewest steps (checkpoints) before completion.")
    min_bake_minutes: int = Field(ge=1, description="Least time each step runs before it may move on.")


class RolloutPlanPolicy(_Strict):
    minimum: PlanMinimum
    bake_minutes: int = Field(ge=1, description="Bake per step of the policy's own schedule (no history).")
    cautious_first_step: int = Field(ge=1, le=99, description="First share after a recent failure.")
    cautious_steps: int = Field(ge=2, description="Steps after a recent failure.")
    cautious_bake_minutes: int = Field(ge=1, description="Bake per step after a recent failure.")
    confident_failure_rate: float = Field(
        gt=0.0, lt=1.0, description="At or below this credible bound of p(step fails): the least caution."
    )
    cautious_failure_rate: float = Field(
        gt=0.0, lt=1.0, description="At or above this credible bound of p(step fails): the most caution."
    )
    credibility: float = Field(
        0.9, gt=0.5, lt=1.0, description="The posterior quantile of p(step fails) the plan is made from."
    )
    min_prior_strength: float = Field(
        1.0,
        gt=0.0,
        description="Least weight, in step trials, of the platform's record in a model's estimate.",
    )
    max_prior_strength: float = Field(
        20.0,
        gt=0.0,
        description="Most weight, in step trials, of the platform's record in a model's estimate.",
    )
    recent_failure_days: float = Field(
        14.0, gt=0.0, description="A failed step this recent gives the most cautious plan."
    )

    @model_validator(mode="after")
    def _cautious_is_cautious(self) -> RolloutPlanPolicy:
        floor = self.minimum
        if self.cautious_first_step > floor.max_first_step:
            raise ValueError("cautious_first_step must not exceed minimum.max_first_step")
        if self.cautious_steps < floor.min_steps:
            raise ValueError("cautious_steps must not be fewer than minimum.min_steps")
        if min(self.bake_minutes, self.cautious_bake_minutes) < floor.min_bake_minutes:
            raise ValueError(
                "bake_minutes and cautious_bake_minutes must be at least minimum.min_bake_minutes"
            )
        if self.confident_failure_rate >= self.cautious_failure_rate:
            raise ValueError("confident_failure_rate must be below cautious_failure_rate")
        if self.min_prior_strength > self.max_prior_strength:
            raise ValueError("min_prior_strength must not exceed max_prior_strength")
        return self

    def fits(self, steps: list[int]) -> None:
        """Raise ValueError unless the policy's own `steps` respect the minimum and leave room for the
        cautious schedule (which ends, like every plan, at the policy's last step)."""
        last, floor = steps[-1], self.minimum
        if steps[0] > floor.max_first_step or len(steps) < floor.min_steps:
            raise ValueError(
                f"steps {steps} are less cautious than plan.minimum (first step at most "
                f"{floor.max_first_step}, at least {floor.min_steps} steps)"
            )
        if last - self.cautious_first_step + 1 < self.cautious_steps:
            raise ValueError(
                f"plan.cautious_steps {self.cautious_steps} do not fit between "
                f"{self.cautious_first_step} and the last step {last}"
            )
        if last - floor.max_first_step + 1 < floor.min_steps:
            raise ValueError(
                f"plan.minimum: {floor.min_steps} steps do not fit between max_first_step "
                f"{floor.max_first_step} and the last step {last}"
            )
