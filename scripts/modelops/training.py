"""`modelops train`: fit a candidate with the model's own training code and keep what registering needs.

The training code belongs to the model (its policy names it as `training.entrypoint`); this module
only calls it and writes its result where `modelops register` reads it: the estimator as a skops
file, the training frame as parquet. The evaluation set is the platform's: the entrypoint is handed
the pinned set and trains on other rows, and a candidate whose training data holds any of the set's
rows is refused with the leakage gate's own check, before anything is written.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from modelops.config import ModelPolicy
from modelops.errors import InputError, PolicyRefusal
from modelops.gates.leakage import TrainingData, check_leakage
from modelops.reports.files import write_atomic_with

ESTIMATOR = "estimator.skops"
TRAINING = "training.parquet"


@dataclass(frozen=True)
class Candidate:
    estimator: Any  # fitted scikit-learn estimator
    training: pd.DataFrame  # what it was fitted on, label included: none of the evaluation set's rows
    description: str = ""


def entrypoint(policy: ModelPolicy, *, policy_file: Path) -> Callable[..., Any]:
    """The model's training function, as its policy names it."""
    if policy.training is None:
        raise InputError(f"{policy_file}: field 'training': no training entrypoint for {policy.name}")
    module_name, _, function_name = policy.training.entrypoint.partition(":")
    try:
        return getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"{policy_file}: field 'training.entrypoint': cannot load {policy.training.entrypoint}: {exc}"
        ) from None


def train(policy: ModelPolicy, *, seed: int, evaluation: pd.DataFrame, policy_file: Path) -> Candidate:
    """Call the entrypoint with `seed` and the pinned evaluation set; refuse a candidate that saw it."""
    function = entrypoint(policy, policy_file=policy_file)
    name = policy.training.entrypoint if policy.training else ""
    candidate = function(seed=seed, evaluation=evaluation)
    if not isinstance(candidate, Candidate):
        raise InputError(f"{name} returned {type(candidate).__name__}, not a Candidate")
    if policy.label not in candidate.training.columns:
        raise InputError(f"{name}: the training frame has no label column '{policy.label}'")
    leakage = check_leakage(
        evaluation,
        [TrainingData("the candidate", "candidate", candidate.training, list(candidate.training.columns))],
        max_duplicated_rows=policy.evaluation_set.max_duplicated_rows if policy.evaluation_set else 0,
    )
    if not leakage.passed:
        raise PolicyRefusal(f"{name}: leakage: " + "; ".join(leakage.reasons))
    return candidate


def write_candidate(candidate: Candidate, folder: Path) -> dict[str, Path]:
    """Write the two files, each atomically; returns where they went."""
    import skops.io

    paths = {"estimator": folder / ESTIMATOR, "training": folder / TRAINING}
    write_atomic_with(paths["estimator"], lambda path: skops.io.dump(candidate.estimator, path))
    write_atomic_with(paths["training"], lambda path: candidate.training.to_parquet(path, index=False))
    return paths
