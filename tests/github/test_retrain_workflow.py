"""The retrain workflow's own steps, run in a clone: train, register, and a promotion pull request.

The clone's `origin` is the fixture repository, so the branch is really pushed. `gh` is a stand-in
that accepts `auth` and records `pr create` (GitHub is not reachable here); the app token, the
OIDC role and the registry login get the local equivalents of tests/github/local_steps.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from modelops.gates.leakage import overlapping_rows
from modelops.registry import configure
from tests.conftest import REPO_ROOT
from tests.github.local_steps import (
    REPOSITORY,
    app_token,
    assume_role,
    checkout_from,
    git,
    install,
    make_origin,
    registry_login,
    runner_env,
)
from tests.github.workflow_runner import WorkflowJob, load_workflow

pytestmark = pytest.mark.slow

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "retrain.yml"


@pytest.fixture()
def origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Path:
    return make_origin(tmp_path, monkeypatch, demo_versions)


def models_job(tmp_path: Path, origin: Path, event: dict, event_name: str) -> WorkflowJob:
    return WorkflowJob(
        load_workflow(WORKFLOW),
        "models",
        tmp_path / f"models-{event_name}",
        github={"event": event, "event_name": event_name, "repository": REPOSITORY},
        actions={"actions/checkout": checkout_from(origin)},
        base_env=runner_env(),
    )


def retrain_job(
    origin: Path, *, event: dict, listed, gh_folder: Path, workdir: Path, run_number: str = "11"
) -> WorkflowJob:
    """The retrain job for `event`, as GitHub runs it after the models job `listed` the models: the
    registry and AWS as variables, `gh` the stand-in at `gh_folder`."""
    env = runner_env()
    env["PATH"] = f"{gh_folder}{os.pathsep}{env['PATH']}"
    [model] = json.loads(listed.outputs["models"])
    return WorkflowJob(
        load_workflow(WORKFLOW),
        "retrain",
        workdir,
        github={
            "event": event,
            "event_name": "repository_dispatch",
            "repository": REPOSITORY,
            "run_id": f"51{run_number}",
            "run_number": run_number,
            "server_url": "https://github.com",
        },
        variables={
            "MLFLOW_TRACKING_URI": configure(),
            "RETRAIN_ROLE_ARN": "arn:aws:iam::123456789012:role/modelops-dev-retrain",
            "AWS_REGION": "eu-west-1",
            "MLFLOW_RETRAIN_SECRET": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow-retrain",
            "PROMOTION_APP_ID": "123456",
        },
        actions={
            "actions/checkout": checkout_from(origin),
            "aws-actions/configure-aws-credentials": assume_role,
            "actions/create-github-app-token": app_token,
        },
        replaced_steps={"install": install, "registry-login": registry_login},
        contexts={
            "matrix": {"model": model},
            "needs": {"models": {"outputs": listed.outputs}},
            "secrets": {"PROMOTION_APP_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nlocal\n"},
        },
        base_env=env,
    )


def test_a_drift_dispatch_trains_registers_and_opens_a_promotion_pull_request(
    origin, pr_gh, german_credit, tmp_path
):
    event = {"client_payload": {"model": "credit-risk"}, "action": "model-drift"}
    listed = models_job(tmp_path, origin, event, "repository_dispatch").run()
    assert listed.succeeded and json.loads(listed.outputs["models"]) == ["credit-risk"]

    gh_folder, calls = pr_gh
    job = retrain_job(origin, event=event, listed=listed, gh_folder=gh_folder, workdir=tmp_path / "retrain")
    run = job.run()
    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]

    version = json.loads((tmp_path / "retrain" / "candidate" / "registered.json").read_text())["version"]
    registered = mlflow.MlflowClient().get_model_version("credit-risk", version)
    assert registered.description.startswith("Retrained on repository_dispatch by https://github.com/")
    # Trained on the rows outside the pinned evaluation set, with the run number as the model's seed.
    assert "forest seed 11" in run.step("train").output
    training = pd.read_parquet(tmp_path / "retrain" / "candidate" / "training.parquet")
    assert overlapping_rows(german_credit.evaluation, training, list(training.columns)) == 0
    assert sorted(p.name for p in (tmp_path / "retrain" / "candidate").iterdir()) == [
        "estimator.skops", "registered.json", "training.parquet",
    ]  # fmt: skip

    # The branch reached the repository, changing dev's release and nothing else...
    branch = f"promote/credit-risk/dev/v{version}"
    assert git(origin, "diff", "--name-only", f"main...{branch}").split() == [
        "gitops/models/credit-risk/overlays/dev/release.yaml"
    ]
    assert "modelops-retrain" in git(origin, "log", "-1", "--format=%an", branch)
    # ...and the pull request was opened with the app's token, from that branch, against main.
    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    create = next(c for c in recorded if c["args"][:2] == ["pr", "create"])
    assert create["token"] == "app-installation-token"
    assert create["args"][create["args"].index("--head") + 1] == branch
    assert create["args"][create["args"].index("--base") + 1] == "main"
    assert any(c["args"][:2] == ["auth", "setup-git"] for c in recorded)


def test_the_schedule_retrains_every_model_with_training_code(origin, tmp_path):
    listed = models_job(tmp_path, origin, {}, "schedule").run()
    assert listed.succeeded
    assert json.loads(listed.outputs["models"]) == ["credit-risk"]


def test_a_dispatch_for_an_unknown_model_fails_without_training_anything(origin, tmp_path):
    event = {"client_payload": {"model": "../../etc/passwd"}}
    listed = models_job(tmp_path, origin, event, "repository_dispatch").run()
    assert not listed.succeeded
    assert "no model policy" in listed.step("models").output
