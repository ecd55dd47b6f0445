"""The models the demo trains: a champion, a better challenger, a biased one, and one that saw the holdout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelops.demo.dataset import CATEGORICAL, LABEL, NUMERIC

# Share of good-credit women recorded as bad in the biased challenger's training labels:
# the kind of historical bias a label can carry without anyone noticing.
BIASED_LABEL_SHARE = 0.2


@dataclass(frozen=True)
class DemoModel:
    key: str
    description: str
    pipeline: Pipeline
    labels: pd.Series


def forest_pipeline(numeric: list[str], categorical: list[str], *, seed: int, **forest: object) -> Pipeline:
    """A random forest on the named columns (scaled numbers, one-hot categories): every demo model's shape."""
    encode = make_column_transformer(
        (StandardScaler(), numeric), (OneHotEncoder(handle_unknown="ignore"), categorical)
    )
    return make_pipeline(encode, RandomForestClassifier(random_state=seed, n_jobs=1, **forest))


def biased_labels(training: pd.DataFrame, share: float, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    labels = training[LABEL].copy()
    flip = (training["sex"] == "female") & (labels == 1) & (rng.random(len(labels)) < share)
    labels[flip.to_numpy()] = 0
    return labels


def demo_models(training: pd.DataFrame, *, seed: int = 0) -> list[DemoModel]:
    """The champion, the better challenger and the biased one; `seed` seeds the forests."""
    return [
        DemoModel(
            "champion",
            "Shallow forest on six features (the release in service)",
            forest_pipeline(
                ["credit_amount", "duration", "age", "job"],
                ["checking_account", "saving_accounts"],
                seed=seed,
                n_estimators=100,
                max_depth=3,
            ),
            training[LABEL],
        ),
        DemoModel(
            "better",
            "Forest on every feature",
            forest_pipeline(NUMERIC, CATEGORICAL, seed=seed, n_estimators=100, min_samples_leaf=5),
            training[LABEL],
        ),
        DemoModel(
            "biased",
            f"Same forest, trained on labels where {BIASED_LABEL_SHARE:.0%} of good-credit women "
            "are recorded as bad",
            forest_pipeline(NUMERIC, CATEGORICAL, seed=seed, n_estimators=100, min_samples_leaf=5),
            biased_labels(training, BIASED_LABEL_SHARE),
        ),
    ]


def leaky_model(training: pd.DataFrame, holdout: pd.DataFrame) -> tuple[DemoModel, pd.DataFrame]:
    """The better forest fitted on the training rows and the holdout too, and the frame it was fitted on.

    Scored on rows it has seen, it looks better than it is: the leakage gate's case.
    """
    leaked = pd.concat([training, holdout], ignore_index=True)
    better = next(model for model in demo_models(leaked) if model.key == "better")
    description = "Forest on every feature, trained on the training rows and the pinned holdout too"
    return DemoModel("leaky", description, better.pipeline, leaked[LABEL]), leaked


def fit(model: DemoModel, training: pd.DataFrame) -> Pipeline:
    return model.pipeline.fit(training.drop(columns=[LABEL]), model.labels)
