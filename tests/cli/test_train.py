"""`modelops train` runs the model's own training code and leaves what `modelops register` reads."""

from __future__ import annotations

import json

import mlflow
import pytest

from tests.cli_runner import invoke

pytestmark = pytest.mark.slow


def test_a_trained_candidate_registers_like_any_other(project_copy, tmp_path):
    out = tmp_path / "candidate"
    trained = invoke("train", "credit-risk", "--out", out, "--seed", "5", "--json")
    assert trained.exit_code == 0, trained.output
    paths = json.loads(trained.stdout)
    assert {p.split("/")[-1] for k, p in paths.items() if k != "model" and k != "description"} == {
        "estimator.skops", "training.parquet", "evaluation.parquet",
    }  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [
        "estimator.skops",
        "evaluation.parquet",
        "training.parquet",
    ]

    registered = invoke(
        "register", "--model", "credit-risk", "--estimator", out / "estimator.skops",
        "--training", out / "training.parquet", "--evaluation", out / "evaluation.parquet", "--json",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    version = json.loads(registered.stdout)["version"]
    assert mlflow.MlflowClient().get_model_version("credit-risk", version).tags  # digest and manifest tags


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
