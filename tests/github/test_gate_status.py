"""The promotion gate's verdict reaches the pull request's head commit as the required status.

The gate runs on `pull_request_target`, whose check runs belong to the base branch's commit; branch
protection judges the head commit. The `verdict` job sets the required context there, through the
workflow's own steps run against a stand-in GitHub (the real `gh` calls, recorded).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from modelops.github.repository_settings import gate_check_name
from tests.conftest import REPO_ROOT
from tests.github.stand_in_github import StandInGitHub
from tests.github.workflow_runner import StepContext, WorkflowJob, load_workflow

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "promotion-gate.yml"
REPOSITORY = "example-org/modelops-platform"
HEAD = "c0ffee" + "0" * 34
BASE = "ba5e" + "0" * 36


def _checkout_base(step: StepContext) -> None:
    # Main's status script, as the base's checkout gives it: never a file of the pull request.
    assert step.inputs["ref"] == BASE and step.inputs["persist-credentials"] == "false"
    shutil.copytree(REPO_ROOT / ".github", step.workspace / ".github", dirs_exist_ok=True)


def _run_verdict(tmp_path: Path, github: StandInGitHub, gate_result: str):
    env = {**os.environ, "PATH": f"{github.folder}{os.pathsep}{os.environ['PATH']}"}
    job = WorkflowJob(
        load_workflow(WORKFLOW),
        "verdict",
        tmp_path / "verdict-job",
        github={
            "event": {"pull_request": {"number": 7, "head": {"sha": HEAD}, "base": {"sha": BASE}}},
            "repository": REPOSITORY,
            "run_id": "4242",
            "server_url": "https://github.com",
            "token": "local-token",
        },
        actions={"actions/checkout": _checkout_base},
        base_env=env,
        contexts={"needs": {"gate": {"result": gate_result}}},
    )
    return job.run()


@pytest.fixture()
def github(tmp_path: Path) -> StandInGitHub:
    return StandInGitHub.install(tmp_path / "github")


@pytest.mark.parametrize(
    ("gate_result", "state"),
    [("success", "success"), ("failure", "failure"), ("cancelled", "failure"), ("skipped", "failure")],
)
def test_the_head_commit_gets_the_gates_verdict_as_the_required_status(tmp_path, github, gate_result, state):
    run = _run_verdict(tmp_path, github, gate_result)
    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]
    (status,) = github.api_state()["statuses"][HEAD]
    assert status["state"] == state
    assert status["context"] == gate_check_name(REPO_ROOT)  # what branch protection requires
    assert status["target_url"] == f"https://github.com/{REPOSITORY}/actions/runs/4242"
    assert BASE not in github.api_state()["statuses"]  # only the pull request's head is judged


def test_the_verdict_runs_whatever_became_of_the_gate_and_only_sets_statuses():
    workflow = load_workflow(WORKFLOW)
    job = workflow["jobs"]["verdict"]
    assert job["needs"] == "gate" and job["if"] == "${{ always() }}"
    assert job["permissions"] == {"contents": "read", "statuses": "write"}
    assert job["runs-on"].startswith("ubuntu-")  # no runner inside the network for a status


def test_the_status_script_refuses_what_is_not_a_commit(tmp_path, github):
    import subprocess

    env = {
        **os.environ,
        "PATH": f"{github.folder}{os.pathsep}{os.environ['PATH']}",
        "REPOSITORY": REPOSITORY,
        "HEAD_SHA": "main",
        "GATE_RESULT": "success",
        "STATUS_CONTEXT": "validate and gate",
        "RUN_URL": "https://github.com/x",
    }
    done = subprocess.run(
        ["bash", str(REPO_ROOT / ".github" / "scripts" / "gate-status.sh")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "not a commit id" in done.stderr
    assert "statuses" not in github.api_state()
