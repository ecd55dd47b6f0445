"""The rollback workflow's own steps, run in a clone: an alert's dispatch becomes an abort PR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import OverlayState, Traffic
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import read_state, write_state
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
from tests.github.stand_in_github import StandInGitHub
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
    for path, text in write_state(
        overlay_texts(origin, "prod"), model="credit-risk", environment="prod", state=state
    ).items():
        (origin / path).parent.mkdir(parents=True, exist_ok=True)
        (origin / path).write_text(text)
    git(origin, "add", "-A")
    git(origin, "commit", "--quiet", "-m", f"Canary v{demo_versions.better} in prod at 10%")
    return origin


@pytest.fixture()
def github(tmp_path: Path) -> StandInGitHub:
    return StandInGitHub.install(tmp_path / "github")


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


def _alert(origin: Path, folder: Path, github: StandInGitHub):
    return rollback_job(origin, folder, {"model": "credit-risk", "environment": "prod"}, github.folder).run()


def _on_origin(origin: Path, branch: str) -> bool:
    return branch in git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def test_a_failing_candidate_gets_a_pull_request_that_aborts_its_canary(canary_in_prod, github, tmp_path):
    run = _alert(canary_in_prod, tmp_path, github)
    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]

    [created] = github.created()
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

    # The alert fires again hours later: the open pull request is enough, nothing new is pushed.
    again = _alert(canary_in_prod, tmp_path / "again", github)
    assert again.succeeded and again.step("abort").outcome == "skipped"
    assert f"already proposed on {branch}" in again.summary
    assert len(github.created()) == 1
    listed = [c for c in github.recorded() if c["args"][:2] == ["pr", "list"]]
    assert listed and all(c["token"] == "app-installation-token" for c in listed)


@pytest.mark.parametrize("what_happened", ["gh failed after the push", "the pull request was closed"])
def test_a_pushed_branch_without_an_open_pull_request_is_no_proposal(
    canary_in_prod, github, tmp_path, what_happened
):
    if what_happened == "gh failed after the push":
        github.fail_creating()
        first = _alert(canary_in_prod, tmp_path, github)
        # The job fails, and its log says how to finish by hand.
        assert not first.succeeded and first.step("abort").outcome == "failure"
        output = first.step("abort").output
        assert "is pushed, but gh pr create failed: pull request create failed: GraphQL" in output
        assert "to open the pull request run:" in output and "| gh pr create --base main --head" in output
        assert github.created() == []
        github.fail_creating(False)
    else:
        assert _alert(canary_in_prod, tmp_path, github).succeeded
        github.close_all()
    [branch] = [b for b in git(canary_in_prod, "branch", "--list", "rollout/*").split() if b != "*"]
    assert _on_origin(canary_in_prod, branch)

    # The alert still fires: the branch alone is no open proposal, so a pull request is opened.
    later = _alert(canary_in_prod, tmp_path / "later", github)
    assert later.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in later.steps]
    assert later.step("abort").outcome == "success"
    opened = github.created()[-1]
    assert opened["args"][opened["args"].index("--head") + 1] == branch
    assert _on_origin(canary_in_prod, branch)


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "credit-risk", "environment": "nowhere"},
        {"model": "../credit-risk", "environment": "prod"},
        {},
    ],
)
def test_a_request_naming_no_overlay_is_refused_before_anything_runs(
    canary_in_prod, github, tmp_path, payload
):
    run = rollback_job(canary_in_prod, tmp_path, payload, github.folder).run()
    assert not run.succeeded
    assert run.step("check").outcome == "failure" and "no overlay" in run.step("check").output
    assert run.step("abort").outcome == "skipped"
    assert github.recorded() == []  # nothing asked of GitHub either
