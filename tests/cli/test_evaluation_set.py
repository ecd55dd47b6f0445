"""`modelops evaluation-set pin`: a file becomes a model's evaluation set in the registry, once."""

from __future__ import annotations

import hashlib
import json

import mlflow
import pytest

from modelops.config import load_model_policy
from modelops.registry.evaluation_sets import ARTIFACT_DIR, EXPERIMENT
from tests.cli_runner import invoke

pytestmark = pytest.mark.slow


def _pin(path, *extra: str):
    return invoke("evaluation-set", "pin", "--model", "credit-risk", "--data", path, *extra)


def test_pinning_stores_the_file_once_and_prints_the_lines_to_commit(german_credit, project_copy, tmp_path):
    data = tmp_path / "holdout-2025.parquet"
    german_credit.evaluation.sample(frac=0.5, random_state=1).to_parquet(data, index=False)
    sha256 = hashlib.sha256(data.read_bytes()).hexdigest()

    first = _pin(data, "--json")
    assert first.exit_code == 0, first.output
    pinned = json.loads(first.stdout)
    assert pinned == {
        "model": "credit-risk", "location": "registry", "sha256": sha256, "run_id": pinned["run_id"],
        "rows": 150, "duplicated_rows": 0, "created": True,
    }  # fmt: skip
    run = mlflow.MlflowClient().get_run(pinned["run_id"])
    assert mlflow.MlflowClient().get_experiment(run.info.experiment_id).name == EXPERIMENT
    stored = mlflow.MlflowClient().list_artifacts(pinned["run_id"], ARTIFACT_DIR)
    assert [f.path for f in stored] == [f"{ARTIFACT_DIR}/holdout-2025.parquet"]

    again = _pin(data)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("already stored: 150 rows of holdout-2025.parquet")
    assert pinned["run_id"] in again.stdout
    lines = again.stdout[again.stdout.index("evaluation_set:") :]
    assert lines.strip() == f"evaluation_set:\n  location: registry\n  sha256: {sha256}"

    # The printed lines are what the policy takes, as printed.
    policy = project_copy / "policies" / "models" / "credit-risk.yaml"
    text = policy.read_text()
    policy.write_text(text[: text.index("evaluation_set:")] + lines + text[text.index("data:") :])
    assert load_model_policy("credit-risk", root=project_copy).evaluation_set.sha256 == sha256


def test_a_set_without_the_label_is_not_pinned(german_credit, tmp_path):
    data = tmp_path / "unlabelled.csv"
    german_credit.evaluation.drop(columns=["risk"]).to_csv(data, index=False)
    result = _pin(data)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {data}: column(s) risk not found"


def test_a_set_with_a_third_class_is_not_pinned(german_credit, tmp_path):
    data = tmp_path / "three-classes.csv"
    german_credit.evaluation.assign(risk=german_credit.evaluation["risk"].replace(0, 2)).to_csv(
        data, index=False
    )
    result = _pin(data)
    assert result.exit_code == 2
    assert "holds values outside the classes [0, 1]: 2" in result.output


def test_a_run_that_only_claims_the_pinned_bytes_is_passed_over(german_credit, tmp_path):
    """Anyone who may log runs can tag one with the model and a pinned digest: the gates read the run
    whose file has those bytes, not the newest claim, and a lone claim names what it holds."""
    from modelops.config import EvaluationSetPin
    from modelops.errors import InputError
    from modelops.registry.evaluation_sets import MODEL_TAG, SHA256_TAG, load_evaluation_set

    data = tmp_path / "holdout-claimed.parquet"
    german_credit.evaluation.sample(frac=0.4, random_state=7).to_parquet(data, index=False)
    pinned = json.loads(_pin(data, "--json").stdout)
    client = mlflow.MlflowClient()

    def claim(
        sha256: str, *, name: str = "holdout.csv", content: bytes = b"risk,sex,age\n1,male,30\n", **run
    ) -> str:
        experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
        made = client.create_run(experiment_id, tags={MODEL_TAG: "credit-risk", SHA256_TAG: sha256}, **run)
        other = tmp_path / "claim" / made.info.run_id / name
        other.parent.mkdir(parents=True)
        other.write_bytes(content)
        folder = f"{ARTIFACT_DIR}/{name.rpartition('/')[0]}".rstrip("/")
        client.log_artifact(made.info.run_id, str(other), artifact_path=folder)
        client.set_terminated(made.info.run_id, "FINISHED")
        return made.info.run_id

    def load(sha256: str):
        return load_evaluation_set(
            EvaluationSetPin(location="registry", sha256=sha256),
            model="credit-risk",
            root=tmp_path,
            destination=tmp_path / f"scratch-{sha256[:8]}",
            policy_file=tmp_path / "credit-risk.yaml",
        )

    claimed = claim(pinned["sha256"])  # newer than the real one
    # Older ones: the very bytes under a name that does not parse as a table, and a folder.
    same_bytes = claim(pinned["sha256"], name="holdout.txt", content=data.read_bytes(), start_time=1)
    folder = claim(pinned["sha256"], name="nested/holdout.csv", start_time=2)
    loaded = load(pinned["sha256"])
    assert loaded.source == f"runs:/{pinned['run_id']}/{ARTIFACT_DIR}/holdout-claimed.parquet"
    assert len(loaded.frame) == len(german_credit.evaluation.sample(frac=0.4, random_state=7))

    unheld = "0" * 64
    lone = claim(unheld)
    with pytest.raises(InputError) as error:
        load(unheld)
    assert str(error.value).startswith(
        f"{tmp_path / 'credit-risk.yaml'}: field 'evaluation_set.sha256': no run of {EXPERIMENT} holds "
        f"the pinned bytes {unheld} as a readable table: runs:/{lone}/{ARTIFACT_DIR}/holdout.csv has sha256 "
    )
    assert pinned["run_id"] not in (claimed, same_bytes, folder)
