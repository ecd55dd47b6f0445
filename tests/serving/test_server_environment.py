"""The model server the gate starts holds none of the gate's credentials, as the pod KServe starts holds
none: the model it loads is the one under judgment."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelops.serving.latency import served_as
from modelops.serving.mlserver import infer, running
from modelops.serving.v2 import request_from_frame

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "sentinel-aws-key",
    "AWS_SESSION_TOKEN": "sentinel-aws-session",
    "MLFLOW_TRACKING_PASSWORD": "sentinel-registry-password",
    "GITHUB_TOKEN": "sentinel-github-token",
}


def _processes_serving(artifact: Path) -> list[int]:
    """Every process whose command line names `artifact`: the server and any worker it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if str(artifact).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # it ended meanwhile, or is not ours to read
            continue
    return found


def test_the_model_server_holds_none_of_the_gates_credentials(
    demo_versions, german_credit, serving_runtime, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    from modelops.config import load_model_policy
    from modelops.registry.versions import VersionRef, fetch_version

    policy = load_model_policy("credit-risk")
    rows = german_credit.evaluation.drop(columns=[policy.label]).head(1)
    fetched = fetch_version(VersionRef("credit-risk", demo_versions.champion), tmp_path / "artifact")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    with running(served_as("credit-risk"), artifact_dir=fetched.local_dir, log=tmp_path / "log") as server:
        status, _ = infer(f"{server.url}/v2/models/credit-risk/infer", request_from_frame(rows))
        assert status == 200
        servers = _processes_serving(fetched.local_dir)
        environments = {pid: Path(f"/proc/{pid}/environ").read_bytes() for pid in servers}

    assert servers
    for environment in environments.values():
        assert b"MLSERVER_MODEL_NAME=credit-risk" in environment.split(b"\0")
        assert not [name for name, value in SECRETS.items() if value.encode() in environment]
