"""The credit-risk model's training code, as a retraining job runs it.

A real model would read fresh data here; the demo data set is fixed. Either way the evaluation set
is not the training code's to choose: it is handed the platform's pinned set and trains on every
other row. The seed seeds the forest, never a split, so no seed can move a held-out row into training.
"""

from __future__ import annotations

import pandas as pd

from modelops.demo.dataset import load_german_credit
from modelops.demo.models import demo_models, fit
from modelops.gates.leakage import rows_outside
from modelops.training import Candidate


def train_credit_risk(*, seed: int, evaluation: pd.DataFrame) -> Candidate:
    training = rows_outside(load_german_credit(), evaluation)
    model = next(m for m in demo_models(training, seed=seed) if m.key == "better")
    description = (
        f"{model.description}; forest seed {seed}; {len(training)} rows outside the pinned evaluation set"
    )
    return Candidate(fit(model, training), training, description)
