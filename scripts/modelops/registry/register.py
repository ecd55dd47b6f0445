"""Register a trained model version with everything the gates need to judge it later."""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from modelops.registry import tags
from modelops.registry.errors import registry_errors
from modelops.registry.manifest import build_manifest, manifest_digest
from modelops.registry.tracking import ensure_experiment
from modelops.serving.contract import SERVED_METHOD

log = logging.getLogger(__name__)

DATASET_ARTIFACTS = {"training": "datasets/training.parquet", "evaluation": "datasets/evaluation.parquet"}


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    model_uri: str
    artifact_digest: str


def git_commit(root: Path | None = None) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def pinned_requirements() -> list[str]:
    # Pinned explicitly: letting MLflow infer them reloads the model in a subprocess (~7 s).
    from importlib.metadata import version

    return [
        f"{package}=={version(package)}" for package in ("scikit-learn", "skops", "numpy", "pandas", "scipy")
    ]


def register_model(
    model: object,
    *,
    name: str,
    training: pd.DataFrame,
    evaluation: pd.DataFrame | None = None,
    label: str,
    sensitive_features: list[str],
    positive_class: int | str = 1,
    trusted_types: list[str] | None = None,
    description: str = "",
    run_name: str | None = None,
) -> RegisteredVersion:
    """Log `model` (a fitted scikit-learn estimator) with signature, data and manifest; register it.

    Features are the training columns minus the label. The training frame is logged as an MLflow
    input and stored as parquet in the run: the drift gate compares with it, and the leakage gate
    checks that it holds none of the pinned evaluation set's rows. An `evaluation` frame is only
    the author's own record, logged the same way; no gate reads it (the model's policy pins the
    set every version is scored on).
    """
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas  # attached to mlflow.data only at import time
    from mlflow.models import infer_signature

    _require_served_method(model)
    frames = {"training": training, **({"evaluation": evaluation} if evaluation is not None else {})}
    for frame_name, frame in frames.items():
        missing = [c for c in [label, *sensitive_features] if c not in frame.columns]
        if missing:
            from modelops.errors import InputError

            raise InputError(f"{frame_name} data: column(s) {', '.join(missing)} not found")
    features = training.drop(columns=[label])
    what = f"model {name}"
    with registry_errors(what):
        experiment_id = ensure_experiment(f"modelops/{name}")
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            for context, frame in frames.items():
                dataset = from_pandas(frame, name=f"{name}-{context}", targets=label)
                mlflow.log_input(dataset, context=context)
                mlflow.set_tag(f"modelops.data.{context}.digest", dataset.digest)
                with tempfile.TemporaryDirectory() as scratch:
                    path = Path(scratch) / Path(DATASET_ARTIFACTS[context]).name
                    frame.to_parquet(path, index=False)
                    mlflow.log_artifact(str(path), artifact_path="datasets")
            mlflow.log_params({"label": label, "sensitive_features": ",".join(sensitive_features)})
            # The signature's output is what the served model answers: the class probabilities.
            signature = infer_signature(features, getattr(model, SERVED_METHOD)(features.head(50)))
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                serialization_format="skops",
                skops_trusted_types=trusted_types or None,
                pip_requirements=pinned_requirements(),
                # What the endpoint answers: the class probabilities the gate scores and the
                # monitor job watches, not the labels a threshold would cut them to.
                pyfunc_predict_fn=SERVED_METHOD,
                registered_model_name=name,
            )
            version = str(info.registered_model_version)
            client = mlflow.MlflowClient()
            with tempfile.TemporaryDirectory() as scratch:
                storage = client.get_model_version_download_uri(name, version)
                local = mlflow.artifacts.download_artifacts(artifact_uri=storage, dst_path=scratch)
                manifest = build_manifest(Path(local))
            digest = manifest_digest(manifest)
            run_tags = client.get_run(run.info.run_id).data.tags
            version_tags = {
                tags.ARTIFACT_MANIFEST: json.dumps(manifest, sort_keys=True),
                tags.ARTIFACT_DIGEST: digest,
                tags.LABEL: label,
                tags.POSITIVE_CLASS: str(positive_class),
                tags.SENSITIVE_FEATURES: ",".join(sensitive_features),
                tags.GIT_COMMIT: git_commit(),
                tags.TRAINING_DIGEST: run_tags.get("modelops.data.training.digest", ""),
            }
            if evaluation is not None:
                version_tags[tags.EVALUATION_DIGEST] = run_tags.get("modelops.data.evaluation.digest", "")
            for key, value in version_tags.items():
                client.set_model_version_tag(name, version, key, value)
            if description:
                client.update_model_version(name, version, description=description)
    log.info("registered %s version %s (%s)", name, version, digest)
    return RegisteredVersion(name, version, run.info.run_id, info.model_uri, digest)


def _require_served_method(model: object) -> None:
    if not callable(getattr(model, SERVED_METHOD, None)):
        from modelops.errors import InputError

        raise InputError(
            f"{type(model).__name__} cannot be served: it has no {SERVED_METHOD} (the platform serves "
            "class probabilities; a scikit-learn classifier fitted on the training data has it)"
        )
