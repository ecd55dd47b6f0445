"""Typed model of `policies/models/<model>.yaml`: what the gates need to know about one model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelops.config.environment import Metric

# A data source is either the candidate run's logged dataset or a file path.
RUN_DATASETS = ("run:training", "run:evaluation")


class SensitiveFeature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    # Numeric columns such as age are judged by band: edges are right-open [lo, hi).
    bins: list[float] | None = None
    labels: list[str] | None = None

    @model_validator(mode="after")
    def _labels_match_bins(self) -> SensitiveFeature:
        if self.bins is not None:
            if len(self.bins) < 2 or sorted(self.bins) != self.bins:
                raise ValueError("bins must be at least two increasing edges")
            if self.labels is None or len(self.labels) != len(self.bins) - 1:
                raise ValueError("labels must name each band: one fewer than bins")
        elif self.labels is not None:
            raise ValueError("labels given without bins")
        return self


class DataSources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation: str = Field("run:evaluation", description="'run:evaluation' or a parquet/csv path")
    reference: str = Field("run:training", description="'run:training' or a parquet/csv path")

    @field_validator("evaluation", "reference")
    @classmethod
    def _known_run_dataset(cls, value: str) -> str:
        if value.startswith("run:") and value not in RUN_DATASETS:
            raise ValueError(f"must be one of {', '.join(RUN_DATASETS)} or a file path")
        return value


class Training(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # `package.module:function`, called as function(seed=...) by `modelops train`; returns a
    # modelops.training.Candidate (the fitted estimator and the frames it was fitted and held out on).
    entrypoint: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class ModelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    intended_use: str = ""
    out_of_scope_use: str = ""
    label: str
    # The label's two values; a label column holding anything else is unusable input, never a
    # value silently counted as the negative class.
    classes: tuple[int | str, int | str] = (0, 1)
    positive_class: int | str = 1
    sensitive_features: list[SensitiveFeature] = Field(min_length=1)
    primary_metric: Metric = "roc_auc"
    secondary_metrics: list[Metric] = Field(default_factory=list)
    data: DataSources = Field(default_factory=DataSources)
    # Types skops may rebuild beyond its built-in safe set. Reviewed here, in the
    # repository, because the list an artifact declares about itself proves nothing.
    trusted_types: list[str] = Field(default_factory=list)
    # Per-environment overrides of the promotion policy, e.g. {prod: {fairness: {...}}}.
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # How a candidate is trained, for `modelops train` and the retrain workflow; optional.
    training: Training | None = None

    @model_validator(mode="after")
    def _positive_class_is_a_class(self) -> ModelPolicy:
        if self.classes[0] == self.classes[1]:
            raise ValueError("classes must name two different values")
        if self.positive_class not in self.classes:
            raise ValueError(
                f"positive_class {self.positive_class!r} is not one of classes {list(self.classes)}"
            )
        return self

    @property
    def metrics(self) -> list[str]:
        return [self.primary_metric, *[m for m in self.secondary_metrics if m != self.primary_metric]]

    @property
    def sensitive_columns(self) -> list[str]:
        return [feature.column for feature in self.sensitive_features]
