"""Typed model of `policies/models/<model>.yaml`: what the gates need to know about one model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelops.config.environment import Metric

# The drift reference is either the candidate run's logged training data or a file path.
RUN_DATASETS = ("run:training",)
# `evaluation_set.location` for a set stored by `modelops evaluation-set pin` in the registry itself.
REGISTRY_LOCATION = "registry"
EVALUATION_SET_SUFFIXES = (".csv", ".parquet", ".pq")


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

    reference: str = Field("run:training", description="'run:training' or a parquet/csv path")
    # Gone: the platform pins the evaluation set (`evaluation_set`). Kept as a field only so that a
    # policy still naming it is told where the set went, not merely that a key is unknown.
    evaluation: None = Field(None, exclude=True)

    @field_validator("evaluation", mode="before")
    @classmethod
    def _evaluation_moved(cls, value: object) -> None:
        raise ValueError(
            "the evaluation set is pinned under evaluation_set (location, sha256) now; "
            "`modelops evaluation-set pin --model <model> --data FILE` prints the lines to commit"
        )

    @field_validator("reference")
    @classmethod
    def _known_run_dataset(cls, value: str) -> str:
        if value.startswith("run:") and value not in RUN_DATASETS:
            raise ValueError(f"must be one of {', '.join(RUN_DATASETS)} or a file path")
        return value


class EvaluationSetPin(BaseModel):
    """The holdout every version of the model is judged on: chosen by the platform, not by an author.

    Champion and challenger are both scored on it, fairness is measured on it, and its content is
    pinned by digest, so no registration and no artifact can change what a model is judged on.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # `registry`: stored by `modelops evaluation-set pin` in the registry's own experiment and
    # found there by model name and sha256. Anything else is where the file itself lives: a URI
    # MLflow's artifact layer downloads (s3://, gs://, file://...) or a path from the repository root.
    location: str = Field(min_length=1)
    # sha256 of the file's bytes, as `sha256sum` prints it.
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # Rows that repeat an earlier row of the set: a repeated row weighs twice in every metric,
    # and a set padded with copies is not a sample of anything.
    max_duplicated_rows: int = Field(0, ge=0)

    @field_validator("location")
    @classmethod
    def _readable_file(cls, value: str) -> str:
        if value != REGISTRY_LOCATION and not value.lower().endswith(EVALUATION_SET_SUFFIXES):
            raise ValueError(
                f"must be '{REGISTRY_LOCATION}' or a file ending in {', '.join(EVALUATION_SET_SUFFIXES)}"
            )
        return value

    @property
    def in_registry(self) -> bool:
        return self.location == REGISTRY_LOCATION


class Training(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # `package.module:function`, called as function(seed=..., evaluation=<the pinned evaluation set>)
    # by `modelops train`; returns a modelops.training.Candidate (the fitted estimator and the frame
    # it was fitted on, which must hold none of the evaluation set's rows).
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
    # None until `modelops evaluation-set pin` has stored one: the model can then be trained and
    # registered, but no gate can judge it.
    evaluation_set: EvaluationSetPin | None = None
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


def policy_path(model: str, root: Path) -> Path:
    """Where `model`'s policy lives: the file one-line errors about its fields name."""
    return root / "policies" / "models" / f"{model}.yaml"
