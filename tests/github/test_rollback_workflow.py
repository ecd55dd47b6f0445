"""The rollback workflow's own steps, run in a clone: an alert's dispatch becomes an abort PR."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelops.gitops import layout
from modelops.gitops.overlay_files import read_state, write_state
from modelops.gitops.releases import resolve_release
from modelops.gitops.state import OverlayState, Traffic
from tests.conftest import REPO_ROOT
from tests.github.local_steps import (
    REPOSITORY,
    app_token,
    checkout_from,
    git,
    install,
    make_origin,
    runner_env,
)
from tests.github.workflow_runner import WorkflowJob, load_workflow

pytestmark = pytest.mark.slow

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "rollback.yml"


def overlay_texts(root: Path, environment: str) -> dict[str, str]:
    overlay = root / layout.overlay_dir("credit-risk", environment)
    return {str(p.relative_to(root)): p.read_text() for p in overlay.glob("*.yaml")}


@pytest.fixture()
def canary_in_prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Path:
    """prod serves the champion with the better version as a canary candidate at 10 %."""
    origin = make_origin(tmp_path, monkeypatch, demo_versions)
    stable, _ = resolve_release("credit-risk", demo_versions.champion)
    candidate, _ = resolve_release("credit-risk", demo_versions.better)
    state = OverlayState(stable=stable, candidate=candidate, traffic=Traffic(stable=90, candidate=10))
    for path, text in write_state(overlay_texts(origin, "prod"), "credit-risk", "prod", state).items():
        (origin / path).parent.mkdir(parents=True, exist_ok=True)
        (origin / path).write_text(text)
    git(origin, "add", "-A")
    git(origin, "commit", "--quiet", "-m", f"Canary v{demo_versions.better} in prod at 10%")
    return origin


def rollback_job(origin: Path, tmp_path: Path, payload: dict, gh_folder: Path | None = None) -> WorkflowJob:
    env = runner_env()
    if gh_folder is not None:
        env["PATH"] = f"{gh_folder}{os.pathsep}{env['PATH']}"
    return WorkflowJob(
        load_workflow(WORKFLOW),
        "abort",
        tmp_path / "rollback-job",
        github={
            "event": {"client_payload": payload},
            "event_name": "repository_dispatch",
            "repository": REPOSITORY,
        },
        variables={"PROMOTION_APP_ID": "123456"},
        actions={"actions/checkout": checkout_from(origin), "actions/create-github-app-token": app_token},
        replaced_steps={"install": install},
        contexts={"secrets": {"PROMOTION_APP_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nlocal\n"}},
        base_env=env,
    )


def test_a_failing_candidate_gets_a_pull_request_that_aborts_its_canary(canary_in_prod, pr_gh, tmp_path):
    gh_folder, calls = pr_gh
    run = rollback_job(
        canary_in_prod, tmp_path, {"model": "credit-risk", "environment": "prod"}, gh_folder
    ).run()
    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]

    created = next(json.loads(line) for line in calls.read_text().splitlines() if '"create"' in line)
    branch = created["args"][created["args"].index("--head") + 1]
    assert created["token"] == "app-installation-token"
    changed = git(canary_in_prod, "diff", "--name-only", f"main...{branch}").split()
    assert changed and all(path.startswith("gitops/models/credit-risk/overlays/prod/") for path in changed)
    state = read_state(
        {p: git(canary_in_prod, "show", f"{branch}:{p}") for p in overlay_texts(canary_in_prod, "prod")
         if p in git(canary_in_prod, "ls-tree", "-r", "--name-only", branch)},
        "credit-risk",
        "prod",
    )  # fmt: skip
    assert (state.candidate, state.traffic.stable) == (None, 100)

    # The alert fires again hours later: the open proposal is enough, nothing new is pushed.
    again = rollback_job(canary_in_prod, tmp_path / "again", {"model": "credit-risk", "environment": "prod"},
                         gh_folder).run()  # fmt: skip
    assert again.succeeded and again.step("abort").outcome == "skipped"
    assert "already proposed" in again.summary
    assert sum('"create"' in line for line in calls.read_text().splitlines()) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "credit-risk", "environment": "nowhere"},
        {"model": "../credit-risk", "environment": "prod"},
        {},
    ],
)
def test_a_request_naming_no_overlay_is_refused_before_anything_runs(canary_in_prod, tmp_path, payload):
    run = rollback_job(canary_in_prod, tmp_path, payload).run()
    assert not run.succeeded
    assert run.step("check").outcome == "failure" and "no overlay" in run.step("check").output
    assert run.step("abort").outcome == "skipped"
