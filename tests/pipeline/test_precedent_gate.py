"""A blocked artifact registered again as a new version inherits its block, on the real registry."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from modelops.registry import tags
from tests.cli_runner import invoke
from tests.registry.forged import download_artifact, register_folder

pytestmark = pytest.mark.slow


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

    # The very same files, as a new version: what someone with registry write access can do.
    folder = download_artifact(demo_versions.biased, tmp_path / "copy" / "model")
    copy = register_folder(folder, data_of=demo_versions.biased, scratch=tmp_path / "copy")
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
