"""The credit-risk model's training code, as a retraining job runs it.

A real model would read fresh data here; the demo data set is fixed, so a new seed draws a new
training/holdout split and the forest is refitted on it.
"""

from __future__ import annotations

from sklearn.model_selection import train_test_split

from modelops.demo.dataset import LABEL, load_german_credit
from modelops.demo.models import demo_models, fit
from modelops.training import Candidate


def train_credit_risk(*, seed: int) -> Candidate:
    data = load_german_credit()
    training, evaluation = train_test_split(data, test_size=0.3, random_state=seed, stratify=data[LABEL])
    training, evaluation = training.reset_index(drop=True), evaluation.reset_index(drop=True)
    model = next(m for m in demo_models(training) if m.key == "better")
    return Candidate(fit(model, training), training, evaluation, f"{model.description}; split seed {seed}")
