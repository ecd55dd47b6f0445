"""`modelops register`: a skops file and its training data become a verifiable model version."""

from __future__ import annotations

import json

import mlflow
import pytest
import skops.io

from modelops.registry import tags
from tests.cli_runner import invoke

pytestmark = pytest.mark.slow


@pytest.fixture()
def saved_model(german_credit, tmp_path):
    from modelops.demo.models import demo_models, fit

    model = fit(demo_models(german_credit.training)[0], german_credit.training)
    estimator = tmp_path / "model.skops"
    skops.io.dump(model, estimator)
    german_credit.training.to_parquet(tmp_path / "train.parquet")
    german_credit.evaluation.to_csv(tmp_path / "holdout.csv", index=False)
    return estimator


def test_register_creates_a_version_with_manifest_and_data(saved_model, tmp_path):
    result = invoke(
        "register",
        "--model",
        "credit-risk",
        "--estimator",
        saved_model,
        "--training",
        tmp_path / "train.parquet",
        "--description",
        "registered from the command line",
    )
    assert result.exit_code == 0, result.output
    version = result.stdout.split("version ")[1].split()[0]
    client = mlflow.MlflowClient()
    registered = client.get_model_version("credit-risk", version)
    assert registered.description == "registered from the command line"
    assert "model.skops" in json.loads(registered.tags[tags.ARTIFACT_MANIFEST])
    assert registered.tags[tags.ARTIFACT_DIGEST] in result.stdout
    # No evaluation set of the author's: the gate scores the one the policy pins.
    assert tags.EVALUATION_DIGEST not in registered.tags
    stored = {f.path for f in client.list_artifacts(registered.run_id, "datasets")}
    assert stored == {"datasets/training.parquet"}


def test_an_authors_holdout_is_kept_as_a_record_only(saved_model, tmp_path):
    result = invoke(
        "register", "--model", "credit-risk", "--estimator", saved_model,
        "--training", tmp_path / "train.parquet", "--evaluation", tmp_path / "holdout.csv", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    registered = mlflow.MlflowClient().get_model_version("credit-risk", json.loads(result.stdout)["version"])
    assert registered.tags[tags.EVALUATION_DIGEST]


def test_register_refuses_types_the_policy_does_not_trust(saved_model, tmp_path, project_copy):
    policy = project_copy / "policies" / "models" / "credit-risk.yaml"
    policy.write_text(policy.read_text().replace("  - sklearn.tree._tree.Tree", ""))
    policy.write_text(policy.read_text().replace("trusted_types:\n", "trusted_types: []\n"))
    result = invoke(
        "register",
        "--model",
        "credit-risk",
        "--estimator",
        saved_model,
        "--training",
        tmp_path / "train.parquet",
    )
    assert result.exit_code == 2
    assert "needs types outside the policy's trusted list: sklearn.tree._tree.Tree" in result.output


def test_register_names_a_missing_label_column(saved_model, tmp_path, german_credit):
    german_credit.training.drop(columns=["risk"]).to_parquet(tmp_path / "unlabelled.parquet")
    result = invoke(
        "register",
        "--model",
        "credit-risk",
        "--estimator",
        saved_model,
        "--training",
        tmp_path / "unlabelled.parquet",
    )
    assert result.exit_code == 2
    assert result.output.strip() == "error: training data: column(s) risk not found"
