"""Typed model of `environments/<env>.yaml`: the promotion section the gates read, the gitops and
rightsizing sections the release commands read."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from modelops.config.rightsizing import RightsizingPolicy
from modelops.config.rollout_analysis import RolloutAnalysis
from modelops.config.rollout_plan import RolloutPlanPolicy

Metric = Literal["roc_auc", "accuracy", "f1", "precision", "recall"]


class _Strict(BaseModel):
    # A typo in a threshold name must be an error, never a silently ignored key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvaluationPolicy(_Strict):
    minimums: dict[Metric, float] = Field(
        description="Absolute floor per metric, judged on the point estimate."
    )
    max_regression: dict[Metric, float] = Field(
        default_factory=dict,
        description="Largest allowed drop vs the champion, judged on the lower end of the "
        "paired interval of (challenger - champion): DeLong's for roc_auc, a bootstrap's otherwise.",
    )
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    # Resamples of the paired bootstrap, for the metrics without a closed-form interval (not roc_auc).
    bootstrap_samples: int = Field(1000, ge=100, le=100_000)
    decision_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _regressions_are_non_negative(self) -> EvaluationPolicy:
        for metric, value in self.max_regression.items():
            if value < 0:
                raise ValueError(f"max_regression.{metric} must be >= 0")
        return self


class FairnessPolicy(_Strict):
    max_demographic_parity_difference: float = Field(ge=0.0, le=1.0)
    max_equalized_odds_difference: float = Field(ge=0.0, le=1.0)
    min_disparate_impact_ratio: float = Field(ge=0.0, le=1.0)
    min_group_size: int = Field(ge=1)


class DriftPolicy(_Strict):
    max_drifted_share: float = Field(
        ge=0.0, le=1.0, description="Largest share of checked columns allowed to drift."
    )
    small_sample_rows: int = Field(
        1000, ge=1, description="At or below this many reference rows use K-S / chi-square / z tests."
    )
    p_value: float = Field(
        0.05,
        gt=0.0,
        lt=1.0,
        description="Significance level of the small-sample tests, and of the tests a bias-corrected "
        "Jensen-Shannon distance or a rise in missing values must also pass to count.",
    )
    distance_threshold: float = Field(
        0.1, gt=0.0, description="Normed Wasserstein / Jensen-Shannon distance at which a column drifts."
    )
    permutations: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Random re-deals of the pooled rows behind the permutation test of a categorical "
        "column whose bias-corrected Jensen-Shannon distance reaches the threshold.",
    )
    seed: int = Field(0, description="Seed of those re-deals, so a verdict can be repeated.")
    max_missing_share_increase: float = Field(
        0.1, ge=0.0, le=1.0, description="Largest rise in a column's share of missing values."
    )
    report_sample_rows: int = Field(
        50_000, ge=100, description="Rows per side given to the HTML report when the data is larger."
    )

    @model_validator(mode="after")
    def _permutations_can_reach_the_level(self) -> DriftPolicy:
        # The smallest p-value a permutation test can give is 1 / (1 + permutations).
        if 1 / (1 + self.permutations) >= self.p_value:
            raise ValueError(
                f"permutations must exceed 1 / p_value - 1 = {1 / self.p_value - 1:g}, "
                "or no column could ever be found drifted by the permutation test"
            )
        return self


class LatencyPolicy(_Strict):
    p95_ms: float = Field(gt=0.0, description="Single-row prediction p95 the model must meet.")
    requests: int = Field(200, ge=20, description="Single-row predictions timed to estimate the p95.")


class PromotionPolicy(_Strict):
    requires: str | None = Field(
        None, description="The environment a version must have passed before this one."
    )
    evaluation: EvaluationPolicy
    fairness: FairnessPolicy
    drift: DriftPolicy
    latency: LatencyPolicy


class Destination(_Strict):
    server: str = Field(description="Kubernetes API server Argo CD deploys to.")
    namespace: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)


class RolloutPolicy(_Strict):
    strategy: Literal["direct", "canary"] = Field(
        "direct", description="direct: a promotion replaces stable; canary: it enters as the candidate."
    )
    steps: list[int] = Field(default_factory=list, description="Candidate traffic percentages, in order.")
    plan: RolloutPlanPolicy | None = Field(
        None, description="Bounds of the plan `modelops rollout plan` learns from history (canary only)."
    )
    analysis: RolloutAnalysis | None = Field(
        None, description="How `modelops rollout analyze` judges each step (canary only)."
    )

    @model_validator(mode="after")
    def _analysis_judges_canaries_only(self) -> RolloutPolicy:
        if self.analysis is not None and self.strategy != "canary":
            raise ValueError("analysis applies to canary rollouts only")
        return self

    @model_validator(mode="after")
    def _steps_fit_the_strategy(self) -> RolloutPolicy:
        if self.strategy == "canary":
            if not self.steps:
                raise ValueError("a canary rollout needs at least one traffic step")
            if any(not 0 < s < 100 for s in self.steps) or self.steps != sorted(set(self.steps)):
                raise ValueError("steps must be increasing percentages between 1 and 99")
        elif self.steps:
            raise ValueError("steps apply to canary rollouts only")
        if self.plan is not None:
            if self.strategy != "canary":
                raise ValueError("a rollout plan applies to canary rollouts only")
            self.plan.fits(self.steps)
        return self


class GitOpsSettings(_Strict):
    repo_url: str = Field(pattern=r"^https://\S+\.git$", description="The repository Argo CD reconciles.")
    target_revision: str = Field(
        "main", description="Branch Argo CD follows (releases are folders, not branches)."
    )
    destination: Destination
    rollout: RolloutPolicy = Field(default_factory=RolloutPolicy)


class Environment(BaseModel):
    # Sections owned by the Pulumi stacks are typed in infra/, where they are used.
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    description: str = ""
    promotion: PromotionPolicy
    gitops: GitOpsSettings
    # None: `modelops rightsize` refuses to run for this environment, naming the file.
    rightsizing: RightsizingPolicy | None = None
