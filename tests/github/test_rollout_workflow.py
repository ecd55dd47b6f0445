"""The rollout workflow's own steps, run in a clone against a real Prometheus: a healthy canary gets
its step pull request, set to merge by itself as prod's policy allows, and only once."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelops.bench.prometheus_history import history
from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import OverlayState, Traffic
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import read_state, write_state
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
from tests.github.stand_in_github import URL, StandInGitHub
from tests.github.workflow_runner import WorkflowJob, load_workflow
from tests.rollouts.history import Release as Served
from tests.rollouts.history import Serving, write_serving
from tests.tools import require_command

pytestmark = pytest.mark.slow

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "rollout.yml"
MODEL = "credit-risk"
NOW = math.floor(time.time() / 60) * 60 - 60


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    promtool, binary = require_command("promtool"), require_command("prometheus")
    start = NOW - 2 * 3600

    def write(writer) -> None:
        served = [
            Served(MODEL, "stable", [Serving(start, 9.0)]),
            Served(MODEL, "candidate", [Serving(start, 1.0)]),
        ]
        write_serving(writer, served, start=start, end=NOW)

    with history(
        write, tmp_path_factory.mktemp("workflow-history"), promtool=promtool, binary=binary
    ) as base:
        yield base


@pytest.fixture()
def canary_in_prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Path:
    """prod serves the champion with the better version at 10 %, a step merged 50 minutes ago."""
    origin = make_origin(tmp_path, monkeypatch, demo_versions)
    overlay = origin / layout.overlay_dir(MODEL, "prod")
    texts = {str(p.relative_to(origin)): p.read_text() for p in overlay.glob("*.yaml")}
    state = OverlayState(
        stable=read_state(texts, MODEL, "prod").stable,
        candidate=resolve_release(MODEL, demo_versions.better)[0],
        traffic=Traffic(stable=90, candidate=10),
    )
    for path, text in write_state(texts, model=MODEL, environment="prod", state=state).items():
        assert text is not None
        (origin / path).write_text(text)
    git(origin, "add", "-A")
    stamp = f"@{NOW - 50 * 60} +0000"
    monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
    git(origin, "commit", "--quiet", "-m", f"Canary v{demo_versions.better} in prod at 10%")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    return origin


def _round(origin: Path, folder: Path, github: StandInGitHub, prometheus_url: str):
    env = runner_env()
    env["PATH"] = f"{github.folder}{os.pathsep}{env['PATH']}"
    env.pop("MODELOPS_PUSHGATEWAY", None)
    return WorkflowJob(
        load_workflow(WORKFLOW),
        "advance",
        folder / "rollout-job",
        github={"event": {}, "event_name": "schedule", "repository": REPOSITORY, "run_id": "42"},
        variables={
            "PROMOTION_APP_ID": "123456",
            "MLFLOW_TRACKING_URI": configure(),
            "PROMETHEUS_URL": prometheus_url,
            "RETRAIN_ROLE_ARN": "arn:aws:iam::123456789012:role/registry-write",
            "AWS_REGION": "eu-west-1",
            "MLFLOW_RETRAIN_SECRET": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow",
        },
        actions={
            "actions/checkout": checkout_from(origin),
            "actions/create-github-app-token": app_token,
            "aws-actions/configure-aws-credentials": assume_role,
        },
        replaced_steps={"install": install, "registry-login": registry_login},
        contexts={
            "secrets": {"PROMOTION_APP_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nlocal\n"},
            "matrix": {"environment": "prod"},
        },
        base_env=env,
    ).run()


def test_a_healthy_canary_gets_its_step_pull_request_once_set_to_merge_by_itself(
    canary_in_prod: Path, tmp_path: Path, prometheus_url: str, demo_versions
) -> None:
    github = StandInGitHub.install(tmp_path / "github")
    run = _round(canary_in_prod, tmp_path, github, prometheus_url)
    assert run.succeeded, [(s.name, s.outcome, s.output[-3000:]) for s in run.steps]
    [created] = github.created()
    branch = created["args"][created["args"].index("--head") + 1]
    assert branch == f"rollout/{MODEL}/prod/step-25-v{demo_versions.better}"
    assert created["token"] == "app-installation-token"
    body = created["args"][created["args"].index("--body") + 1]
    assert "### Canary analysis: step" in body and "| error ratio against stable |" in body
    merges = [c for c in github.recorded() if c["args"][:2] == ["pr", "merge"]]
    assert [m["args"] for m in merges] == [["pr", "merge", "--auto", "--squash", URL.format(8)]]
    assert merges[0]["token"] == "app-installation-token"
    assert "STEP" in run.summary

    # The next round, while that pull request is open: judged again, never proposed twice.
    again = _round(canary_in_prod, tmp_path / "again", github, prometheus_url)
    assert again.succeeded, [(s.name, s.outcome, s.output[-3000:]) for s in again.steps]
    assert "already proposes a move of this rollout" in again.step("advance").output
    assert len(github.created()) == 1
