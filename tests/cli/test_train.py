"""`modelops train` runs the model's own training code and leaves what `modelops register` reads."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest

from modelops.demo.dataset import load_german_credit
from modelops.gates.leakage import overlapping_rows, rows_outside
from modelops.training import Candidate
from tests.cli_runner import invoke

pytestmark = pytest.mark.slow

SHARED_ROWS = 7


def train_on_the_holdout_too(*, seed: int, evaluation: pd.DataFrame) -> Candidate:
    """A training entrypoint that lets a few evaluation rows into its training data."""
    from modelops.demo.models import demo_models, fit

    training = pd.concat([rows_outside(load_german_credit(), evaluation), evaluation.head(SHARED_ROWS)])
    model = next(m for m in demo_models(training, seed=seed) if m.key == "champion")
    return Candidate(fit(model, training), training, "trained on seven holdout rows too")


def test_a_trained_candidate_registers_like_any_other(german_credit, project_copy, tmp_path):
    out = tmp_path / "candidate"
    trained = invoke("train", "credit-risk", "--out", out, "--seed", "5", "--json")
    assert trained.exit_code == 0, trained.output
    paths = json.loads(trained.stdout)
    assert "forest seed 5" in paths["description"]
    assert {p.split("/")[-1] for k, p in paths.items() if k != "model" and k != "description"} == {
        "estimator.skops", "training.parquet",
    }  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["estimator.skops", "training.parquet"]
    # Trained on every row outside the pinned set: 700 rows, none of the set's 300.
    training = pd.read_parquet(out / "training.parquet")
    assert len(training) == 700
    assert overlapping_rows(german_credit.evaluation, training, list(training.columns)) == 0

    registered = invoke(
        "register", "--model", "credit-risk", "--estimator", out / "estimator.skops",
        "--training", out / "training.parquet", "--json",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    version = json.loads(registered.stdout)["version"]
    assert mlflow.MlflowClient().get_model_version("credit-risk", version).tags  # digest and manifest tags


def test_a_candidate_trained_on_evaluation_rows_is_refused(german_credit, project_copy, tmp_path):
    policy = project_copy / "policies/models/credit-risk.yaml"
    policy.write_text(
        policy.read_text().replace(
            "modelops.demo.training:train_credit_risk", "tests.cli.test_train:train_on_the_holdout_too"
        )
    )
    result = invoke("train", "credit-risk", "--out", tmp_path / "candidate")
    assert result.exit_code == 1, result.output
    assert " ".join(result.output.split()) == (
        "refused: tests.cli.test_train:train_on_the_holdout_too: leakage: "
        f"{SHARED_ROWS} of 300 evaluation rows appear in the candidate's training data; nothing written"
    )
    assert not (tmp_path / "candidate").exists()


def test_training_needs_a_pinned_evaluation_set(project_copy, tmp_path):
    policy = project_copy / "policies/models/credit-risk.yaml"
    text = policy.read_text()
    policy.write_text(text[: text.index("evaluation_set:")] + text[text.index("data:") :])
    result = invoke("train", "credit-risk", "--out", tmp_path / "candidate")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {policy}: field 'evaluation_set': no evaluation set is pinned")
    assert not (tmp_path / "candidate").exists()


def test_a_model_without_training_code_is_refused_naming_the_field(project_copy, tmp_path):
    policy = project_copy / "policies/models/credit-risk.yaml"
    policy.write_text(policy.read_text().split("training:")[0])
    result = invoke("train", "credit-risk", "--out", tmp_path / "candidate")
    assert result.exit_code == 2
    assert "credit-risk.yaml: field 'training'" in result.output
    assert not (tmp_path / "candidate").exists()  # nothing written


def test_an_entrypoint_that_does_not_load_is_refused(project_copy, tmp_path):
    policy = project_copy / "policies/models/credit-risk.yaml"
    policy.write_text(policy.read_text().replace("train_credit_risk", "no_such_function"))
    result = invoke("train", "credit-risk", "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert "field 'training.entrypoint': cannot load modelops.demo.training:no_such_function" in result.output
