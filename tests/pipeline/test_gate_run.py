"""`modelops gate` end to end: a real registry, real models, real reports."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import numpy as np
import pytest

from modelops.registry import build_manifest, manifest_digest, tags
from modelops.registry.tracking import ensure_experiment
from tests.cli_runner import invoke
from tests.conftest import register_demo_model

pytestmark = pytest.mark.slow


def _gate(version: str, out: Path, *, env: str = "dev", champion: str | None = None, html: bool = False):
    args = ["gate", "--model", "credit-risk", "--version", version, "--env", env, "--out", out]
    if champion:
        args += ["--champion", champion]
    return invoke(*args, "--html" if html else "--no-html")


def _verdict(out: Path) -> dict:
    return json.loads((out / "verdict.json").read_text())


def _version_tags(version: str) -> dict[str, str]:
    return mlflow.MlflowClient().get_model_version("credit-risk", version).tags


def _artifact_dir(version: str) -> Path:
    return Path(urlparse(mlflow.MlflowClient().get_model_version_download_uri("credit-risk", version)).path)


def test_a_first_release_is_judged_on_absolute_rules(demo_versions, tmp_path):
    result = _gate(demo_versions.champion, tmp_path)
    assert result.exit_code == 0, result.output
    verdict = _verdict(tmp_path)
    assert verdict["passed"] is True
    assert verdict["champion_version"] is None
    assert verdict["gates"]["evaluation"]["has_champion"] is False
    assert _version_tags(demo_versions.champion)[tags.gate("dev")] == "passed"


def test_a_better_challenger_passes_and_leaves_the_evidence(demo_versions, tmp_path):
    result = _gate(demo_versions.better, tmp_path, champion=demo_versions.champion, html=True)
    assert result.exit_code == 0, result.output
    verdict = _verdict(tmp_path)
    assert verdict["passed"] is True
    assert verdict["champion_version"] == demo_versions.champion
    assert set(verdict["gates"]) == {
        "ladder", "integrity", "precedent", "leakage", "drift", "evaluation", "fairness", "latency",
    }  # fmt: skip
    report = (tmp_path / "report.md").read_text()
    assert report.startswith(f"## ✅ PASSED: credit-risk v{demo_versions.better} → dev")
    assert "| roc_auc |" in report and "| female |" in report
    pinned = verdict["evaluation_set"]
    assert pinned["location"] == "registry" and pinned["rows"] == 300
    assert f"location `registry`, sha256 `{pinned['sha256']}`" in report
    assert f"| v{demo_versions.better} | 700 | 0 of 300 |" in report
    assert (tmp_path / "drift.html").stat().st_size > 10_000
    card = (tmp_path / "model_card.md").read_text()
    run_id = verdict["gate_run_id"]
    for expected in (
        "## Intended use",
        "## Metrics per group",
        "## Lineage",
        run_id,
        verdict["artifact_digest"],
        "## Leakage",
        f"sha256 `{pinned['sha256']}`",
    ):
        assert expected in card
    version_tags = _version_tags(demo_versions.better)
    assert version_tags[tags.gate("dev")] == "passed"
    assert version_tags[tags.gate_run("dev")] == run_id
    assert version_tags[tags.model_card("dev")] == f"runs:/{run_id}/model_card.md"
    logged = {f.path for f in mlflow.MlflowClient().list_artifacts(run_id)}
    assert {"report.md", "model_card.md", "verdict.json", "drift.html"} <= logged
    metrics = mlflow.MlflowClient().get_run(run_id).data.metrics
    assert metrics["evaluation.roc_auc"] == pytest.approx(
        verdict["gates"]["evaluation"]["metrics"][0]["challenger"]
    )
    assert metrics["leakage.overlapping_rows.candidate"] == metrics["leakage.overlapping_rows.champion"] == 0
    params = mlflow.MlflowClient().get_run(run_id).data.params
    assert params["evaluation_set_sha256"] == pinned["sha256"]


def test_a_biased_challenger_is_blocked_by_the_fairness_gate(demo_versions, tmp_path):
    result = _gate(demo_versions.biased, tmp_path, champion=demo_versions.champion)
    assert result.exit_code == 1, result.output
    verdict = _verdict(tmp_path)
    assert verdict["passed"] is False
    assert verdict["gates"]["fairness"]["passed"] is False
    assert verdict["gates"]["evaluation"]["passed"] is True  # as accurate as the champion, still unfair
    assert any("sex: disparate impact ratio" in r and "four-fifths" in r for r in verdict["reasons"])
    assert (tmp_path / "report.md").read_text().startswith("## ❌ BLOCKED")
    assert _version_tags(demo_versions.biased)[tags.gate("dev")] == "failed"


def test_the_ladder_requires_the_previous_environment(german_credit, tmp_path):
    version = register_demo_model("champion", german_credit)
    skipped = _gate(version, tmp_path / "skipped", env="staging")
    assert skipped.exit_code == 1
    assert (
        "staging requires the version to have passed the dev gate first"
        in _verdict(tmp_path / "skipped")["reasons"][0]
    )
    assert _gate(version, tmp_path / "dev").exit_code == 0
    climbed = _gate(version, tmp_path / "staging", env="staging")
    assert _verdict(tmp_path / "staging")["gates"]["ladder"]["passed"] is True, climbed.output


def test_a_corrupt_artifact_is_refused_before_loading(german_credit, tmp_path):
    version = register_demo_model("champion", german_credit)
    model_file = _artifact_dir(version) / "model.skops"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    result = _gate(version, tmp_path)
    assert result.exit_code == 1, result.output
    verdict = _verdict(tmp_path)
    assert verdict["gates"]["integrity"]["reasons"][0].startswith("artifact file model.skops has sha256")
    assert verdict["gates"]["evaluation"]["reasons"] == ["not run: the artifact failed verification"]


def test_a_digest_mismatch_fails_the_integrity_gate(german_credit, tmp_path):
    version = register_demo_model("champion", german_credit)
    manifest = json.loads(_version_tags(version)[tags.ARTIFACT_MANIFEST])
    manifest["model.skops"] = "0" * 64
    mlflow.MlflowClient().set_model_version_tag(
        "credit-risk", version, tags.ARTIFACT_MANIFEST, json.dumps(manifest)
    )
    result = _gate(version, tmp_path)
    assert result.exit_code == 1
    reasons = _verdict(tmp_path)["gates"]["integrity"]["reasons"]
    assert (
        reasons[0].startswith("artifact file model.skops has sha256")
        and "registered 000000000000" in reasons[0]
    )


def test_a_pickled_model_is_refused(german_credit, project_copy, tmp_path):
    from modelops.demo.models import demo_models, fit

    model = fit(demo_models(german_credit.training)[0], german_credit.training)
    features = german_credit.training.drop(columns=["risk"])
    # The project's experiment, whose artifacts live in the test's registry: MLflow's default
    # experiment would write them into the working directory.
    with mlflow.start_run(experiment_id=ensure_experiment("modelops/credit-risk")):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            registered_model_name="credit-risk",
            signature=mlflow.models.infer_signature(features, model.predict_proba(features)),
            pip_requirements=["scikit-learn"],
        )
    version = str(info.registered_model_version)
    _point_reference_at(project_copy, german_credit.training)
    manifest = build_manifest(_artifact_dir(version))
    client = mlflow.MlflowClient()
    client.set_model_version_tag("credit-risk", version, tags.ARTIFACT_MANIFEST, json.dumps(manifest))
    client.set_model_version_tag("credit-risk", version, tags.ARTIFACT_DIGEST, manifest_digest(manifest))
    result = _gate(version, tmp_path)
    assert result.exit_code == 1, result.output
    assert any("serialized as cloudpickle" in r for r in _verdict(tmp_path)["reasons"])


def _point_evaluation_at(project: Path, frame, name: str = "evaluation.csv") -> None:
    """Pin a file of the repository as the evaluation set, with its true sha256."""
    frame.to_csv(project / name, index=False)
    sha256 = hashlib.sha256((project / name).read_bytes()).hexdigest()
    policy = project / "policies" / "models" / "credit-risk.yaml"
    text = re.sub(r"(?m)^  location: registry$", f"  location: {name}", policy.read_text())
    policy.write_text(re.sub(r"(?m)^  sha256: [0-9a-f]{64}$", f"  sha256: {sha256}", text))


def _point_reference_at(project: Path, frame, name: str = "reference.csv") -> None:
    frame.to_csv(project / name, index=False)
    policy = project / "policies" / "models" / "credit-risk.yaml"
    policy.write_text(policy.read_text().replace("reference: run:training", f"reference: {name}"))


def test_a_version_without_logged_training_data_cannot_be_cleared_of_leakage(german_credit, tmp_path):
    with mlflow.start_run():
        features = german_credit.training.drop(columns=["risk"])
        from modelops.demo.models import demo_models, fit

        model = fit(demo_models(german_credit.training)[0], german_credit.training)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="credit-risk",
            pip_requirements=["scikit-learn"],
            skops_trusted_types=["sklearn.tree._tree.Tree"],
            signature=mlflow.models.infer_signature(features, model.predict_proba(features)),
        )
    version = str(info.registered_model_version)
    result = _gate(version, tmp_path)
    assert result.exit_code == 1, result.output
    verdict = _verdict(tmp_path)
    assert f"leakage: v{version} logged no training data: leakage cannot be ruled out" in verdict["reasons"]
    assert verdict["gates"]["drift"]["reasons"] == [
        f"not run: v{version} logged no training data to compare with"
    ]


def test_a_schema_mismatch_fails_the_integrity_gate(demo_versions, german_credit, project_copy, tmp_path):
    frame = german_credit.evaluation.copy()
    frame["duration"] = frame["duration"].map(lambda months: f"{months:.0f} months")
    _point_evaluation_at(project_copy, frame)
    result = _gate(demo_versions.champion, tmp_path)
    assert result.exit_code == 1
    reasons = _verdict(tmp_path)["gates"]["integrity"]["reasons"]
    assert "signature input duration expects double, the evaluation data holds string" in reasons


def test_a_nan_flooded_column_fails_the_drift_gate(demo_versions, german_credit, project_copy, tmp_path):
    frame = german_credit.evaluation.copy()
    frame.loc[frame.index[: int(len(frame) * 0.8)], "credit_amount"] = np.nan
    _point_evaluation_at(project_copy, frame)
    result = _gate(demo_versions.champion, tmp_path)
    assert result.exit_code == 1, result.output
    drift = _verdict(tmp_path)["gates"]["drift"]
    assert "column credit_amount missing values rose from 0% to 80% (allowed rise 10%)" in drift["reasons"]


def test_an_empty_evaluation_file_is_unusable(demo_versions, german_credit, project_copy, tmp_path):
    _point_evaluation_at(project_copy, german_credit.evaluation.iloc[0:0])
    result = _gate(demo_versions.champion, tmp_path)
    assert result.exit_code == 2
    assert "field 'evaluation_set'" in result.output and "evaluation.csv" in result.output
    assert "no rows" in result.output


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("9999", "model credit-risk version 9999: not found"),
        ("@gone", "model credit-risk alias gone: not found"),
    ],
)
def test_a_missing_version_or_alias_exits_2_with_one_line(demo_versions, tmp_path, version, message):
    result = _gate(version, tmp_path)
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error: {message}")
    assert len(result.output.strip().splitlines()) == 1
    assert _verdict(tmp_path) == {
        "passed": False,
        "error": result.output.strip()[7:],
        "reasons": [result.output.strip()[7:]],
    }


def test_an_invalid_environment_file_exits_2_naming_file_and_field(demo_versions, project_copy, tmp_path):
    path = project_copy / "environments" / "dev.yaml"
    path.write_text(path.read_text().replace("max_drifted_share: 0.25", "max_drifted_share: lots"))
    result = _gate(demo_versions.champion, tmp_path)
    assert result.exit_code == 2
    assert f"{path}: field 'promotion.drift.max_drifted_share'" in result.output


def test_the_same_version_cannot_be_its_own_champion(demo_versions, tmp_path):
    result = _gate(demo_versions.champion, tmp_path, champion=demo_versions.champion)
    assert result.exit_code == 2
    assert "candidate and champion are the same version" in result.output


def test_reports_are_replaced_whole(demo_versions, tmp_path):
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert _gate(demo_versions.champion, tmp_path).exit_code == 0
    first = (tmp_path / "verdict.json").read_text()
    assert _gate(demo_versions.champion, tmp_path).exit_code == 0
    assert json.loads(first)["gate_run_id"] != _verdict(tmp_path)["gate_run_id"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left behind
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any other file
