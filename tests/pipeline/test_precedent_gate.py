"""A blocked artifact registered again as a new version inherits its block, on the real registry."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from modelops.registry import build_manifest, manifest_digest, tags
from modelops.registry.tracking import ensure_experiment
from tests.cli_runner import invoke

pytestmark = pytest.mark.slow


def register_copy(version: str, scratch: Path) -> str:
    """What someone with registry write access can do: the same files, and data, as a new version."""
    client = mlflow.MlflowClient()
    storage = client.get_model_version_download_uri("credit-risk", version)
    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=storage, dst_path=str(scratch / "model")))
    run_id = client.get_model_version("credit-risk", version).run_id
    datasets = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="datasets", dst_path=str(scratch / "data")
    )
    with mlflow.start_run(experiment_id=ensure_experiment("modelops/credit-risk")) as run:
        mlflow.log_artifacts(str(folder), artifact_path="model")
        mlflow.log_artifacts(datasets, artifact_path="datasets")
    copy = str(
        client.create_model_version(
            "credit-risk", source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        ).version
    )
    manifest = build_manifest(folder)
    client.set_model_version_tag("credit-risk", copy, tags.ARTIFACT_MANIFEST, json.dumps(manifest))
    client.set_model_version_tag("credit-risk", copy, tags.ARTIFACT_DIGEST, manifest_digest(manifest))
    return copy


def gate(version: str, champion: str, out: Path) -> tuple[int, dict]:
    result = invoke(
        "gate", "--model", "credit-risk", "--version", version, "--env", "dev", "--champion", champion,
        "--out", out, "--no-html", "--json",
    )  # fmt: skip
    return result.exit_code, json.loads(result.stdout)


def test_a_copy_of_a_blocked_artifact_inherits_the_block_until_the_policy_changes(
    demo_versions, project_copy, tmp_path
):
    exit_code, first = gate(demo_versions.biased, demo_versions.champion, tmp_path / "first")
    assert exit_code == 1 and not first["gates"]["fairness"]["passed"]
    recorded = mlflow.MlflowClient().get_model_version("credit-risk", demo_versions.biased).tags
    assert "fairness" in recorded[tags.gate_failed("dev")].split(",")
    assert recorded[tags.gate_policy("dev")].startswith("sha256:")

    copy = register_copy(demo_versions.biased, tmp_path / "copy")
    exit_code, again = gate(copy, demo_versions.champion, tmp_path / "again")

    assert exit_code == 1
    run_id = recorded[tags.gate_run("dev")]
    assert (
        f"precedent: the same artifact as v{demo_versions.biased}, blocked for dev by gate run {run_id} "
        "(fairness) under the same policy: that verdict stands"
    ) in again["reasons"]

    # A changed policy judges the copy afresh: the precedent no longer holds (fairness still decides).
    dev = project_copy / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("p_value: 0.05", "p_value: 0.04"))
    _, afresh = gate(copy, demo_versions.champion, tmp_path / "afresh")
    assert afresh["gates"]["precedent"]["passed"] is True
    assert afresh["gates"]["precedent"]["earlier"][0]["policy_unchanged"] is False
