"""`modelops train`: fit a candidate with the model's own training code and keep what registering needs.

The training code belongs to the model (its policy names it as `training.entrypoint`); this module
only calls it and writes its result where `modelops register` reads it: the estimator as a skops
file, the training and holdout frames as parquet.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from modelops.config import ModelPolicy
from modelops.errors import InputError
from modelops.reports.files import write_atomic_with

ESTIMATOR = "estimator.skops"
TRAINING = "training.parquet"
EVALUATION = "evaluation.parquet"


@dataclass(frozen=True)
class Candidate:
    estimator: Any  # fitted scikit-learn estimator
    training: pd.DataFrame  # label included
    evaluation: pd.DataFrame  # the holdout, label included
    description: str = ""


def train(policy: ModelPolicy, *, seed: int, policy_file: Path) -> Candidate:
    if policy.training is None:
        raise InputError(f"{policy_file}: field 'training': no training entrypoint for {policy.name}")
    module_name, _, function_name = policy.training.entrypoint.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"{policy_file}: field 'training.entrypoint': cannot load {policy.training.entrypoint}: {exc}"
        ) from None
    candidate = function(seed=seed)
    if not isinstance(candidate, Candidate):
        raise InputError(f"{policy.training.entrypoint} returned {type(candidate).__name__}, not a Candidate")
    for frame, name in ((candidate.training, "training"), (candidate.evaluation, "evaluation")):
        if policy.label not in frame.columns:
            raise InputError(
                f"{policy.training.entrypoint}: the {name} frame has no label column '{policy.label}'"
            )
    return candidate


def write_candidate(candidate: Candidate, folder: Path) -> dict[str, Path]:
    """Write the three files, each atomically; returns where they went."""
    import skops.io

    paths = {
        "estimator": folder / ESTIMATOR,
        "training": folder / TRAINING,
        "evaluation": folder / EVALUATION,
    }
    write_atomic_with(paths["estimator"], lambda path: skops.io.dump(candidate.estimator, path))
    write_atomic_with(paths["training"], lambda path: candidate.training.to_parquet(path, index=False))
    write_atomic_with(paths["evaluation"], lambda path: candidate.evaluation.to_parquet(path, index=False))
    return paths
