import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

from modelops.errors import InputError
from modelops.registry import VersionRef, build_manifest, fetch_version, manifest_digest
from modelops.registry import tags as tag_names


def test_registration_records_what_the_gates_need(demo_versions, tmp_path):
    client = mlflow.MlflowClient()
    version = client.get_model_version("credit-risk", demo_versions.champion)
    tags = version.tags
    manifest = json.loads(tags[tag_names.ARTIFACT_MANIFEST])
    assert {"MLmodel", "model.skops"} <= set(manifest)
    assert tags[tag_names.ARTIFACT_DIGEST] == manifest_digest(manifest)
    assert tags[tag_names.LABEL] == "risk"
    assert tags[tag_names.SENSITIVE_FEATURES] == "sex,age"
    run = client.get_run(version.run_id)
    contexts = {d.tags[0].value for d in run.inputs.dataset_inputs}
    assert contexts == {"training"}  # no evaluation set of its own: the policy pins the one it is judged on
    fetched = fetch_version(VersionRef("credit-risk", demo_versions.champion), tmp_path)
    assert fetched.actual_manifest == manifest  # what is served is what was registered
    assert fetched.serialization_format == "skops"
    assert ("age", "double") in fetched.signature


def test_registering_something_that_cannot_predict_names_it():
    import pandas as pd

    from modelops.registry import register_model

    frame = pd.DataFrame({"age": [30, 40], "sex": ["f", "m"], "risk": [0, 1]})
    with pytest.raises(InputError, match="object cannot be served: it has no predict_proba"):
        register_model(object(), name="no-model", training=frame, label="risk", sensitive_features=["sex"])


def test_a_regressor_that_only_predicts_is_refused_before_anything_is_logged():
    # The endpoint serves class probabilities: a model without them would answer something no gate
    # scored and no monitor could read.
    import mlflow
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from modelops.registry import register_model

    frame = pd.DataFrame({"age": [30.0, 40.0, 50.0], "risk": [0, 1, 1]})
    before = len(mlflow.MlflowClient().search_registered_models())
    with pytest.raises(InputError, match="LinearRegression cannot be served"):
        register_model(
            LinearRegression().fit(frame[["age"]], frame["risk"]),
            name="regressor",
            training=frame,
            label="risk",
            sensitive_features=[],
        )
    assert len(mlflow.MlflowClient().search_registered_models()) == before


def test_manifest_refuses_symlinks(tmp_path):
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(ValueError, match="symlinks"):
        build_manifest(tmp_path)


def test_fetch_by_alias(demo_versions, tmp_path):
    mlflow.MlflowClient().set_registered_model_alias("credit-risk", "stable", demo_versions.champion)
    assert fetch_version(VersionRef("credit-risk", "@stable"), tmp_path).version == demo_versions.champion


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("9999", "model credit-risk version 9999: not found"),
        ("@nobody", "model credit-risk alias nobody: not found"),
    ],
)
def test_missing_version_and_alias_are_the_same_clear_error(demo_versions, tmp_path, ref, message):
    with pytest.raises(InputError) as error:
        fetch_version(VersionRef("credit-risk", ref), tmp_path)
    assert str(error.value).startswith(message)


def test_loading_never_unpickles():
    assert os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] == "false"


def _gate_against(uri: str, repo_root: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_REGISTRY_URI"}  # the registry follows the URI
    env["MLFLOW_TRACKING_URI"] = uri
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelops",
            "gate",
            "--model",
            "credit-risk",
            "--version",
            "1",
            "--env",
            "dev",
            "--out",
            str(tmp_path / "out"),
            "--no-html",
        ],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - started


def test_an_unreachable_registry_fails_fast_with_one_line(repo_root, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result, elapsed = _gate_against(f"http://127.0.0.1:{port}", repo_root, tmp_path)
    assert result.returncode == 2
    assert elapsed < 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unreachable" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert json.loads((tmp_path / "out" / "verdict.json").read_text())["passed"] is False


def test_a_registry_that_never_answers_fails_within_ten_seconds(repo_root, tmp_path):
    with socket.socket() as server:  # accepts connections, never replies
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        result, elapsed = _gate_against(f"http://127.0.0.1:{server.getsockname()[1]}", repo_root, tmp_path)
    assert result.returncode == 2
    assert elapsed < 10
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
