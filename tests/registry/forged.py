"""What someone with write access to the registry can do without `modelops register`: take a
version's files, change them or not, and register the folder as a new version with a manifest of
exactly those files, so the sha256 check alone would pass it."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow

from modelops.registry import build_manifest, manifest_digest, tags
from modelops.registry.tracking import ensure_experiment

MODEL = "credit-risk"


def download_artifact(version: str, destination: Path) -> Path:
    """The version's artifact folder, as registered."""
    storage = mlflow.MlflowClient().get_model_version_download_uri(MODEL, version)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=storage, dst_path=str(destination)))


def register_folder(folder: Path, *, data_of: str, scratch: Path) -> str:
    """`folder` as a new version of the model, its run holding `data_of`'s logged datasets."""
    client = mlflow.MlflowClient()
    source_run = client.get_model_version(MODEL, data_of).run_id
    datasets = mlflow.artifacts.download_artifacts(
        run_id=source_run, artifact_path="datasets", dst_path=str(scratch / "data")
    )
    with mlflow.start_run(experiment_id=ensure_experiment(f"modelops/{MODEL}")) as run:
        mlflow.log_artifacts(str(folder), artifact_path="model")
        mlflow.log_artifacts(datasets, artifact_path="datasets")
    version = str(
        client.create_model_version(
            MODEL, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        ).version
    )
    manifest = build_manifest(folder)
    client.set_model_version_tag(MODEL, version, tags.ARTIFACT_MANIFEST, json.dumps(manifest))
    client.set_model_version_tag(MODEL, version, tags.ARTIFACT_DIGEST, manifest_digest(manifest))
    return version
