"""The promotion gate's verdict reaches the pull request's head commit as the required status, set by
the gate's own App, and by nothing else.

The gate runs on `pull_request_target`, whose check runs belong to the base branch's commit; branch
protection judges the head commit. The `verdict` job sets the required context there, through the
workflow's own steps run against a stand-in GitHub (the real `gh` calls, recorded with their token).
Branch protection pins the context to the gate App's id (test_repository_settings.py): these tests
show that only the `gate-verdict` environment's App token sets it, and that a pull request into
another branch, or with no registry to read, gets a failing verdict.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from modelops.github.repository_settings import gate_check_name
from tests.conftest import REPO_ROOT
from tests.github.stand_in_github import StandInGitHub
from tests.github.workflow_runner import StepContext, WorkflowJob, evaluate, interpolate, load_workflow

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "promotion-gate.yml"
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
REPOSITORY = "example-org/modelops-platform"
HEAD = "c0ffee" + "0" * 34
BASE = "ba5e" + "0" * 36
MAIN = "a11" + "0" * 37  # main's latest commit: the one this run's workflow file comes from
APP_TOKEN = "gate-app-installation-token"


def _checkout_main(step: StepContext) -> None:
    # The status script of the workflow's own commit: never the base's (another branch, for a pull
    # request into it) nor the pull request's.
    assert step.inputs["ref"] == MAIN and step.inputs["persist-credentials"] == "false"
    for part in (".github", "scripts/modelops/github"):  # the status and comment scripts
        shutil.copytree(REPO_ROOT / part, step.workspace / part, dirs_exist_ok=True)


def _gate_app_token(step: StepContext) -> None:
    """actions/create-github-app-token: the gate App's token, asked for commit statuses alone."""
    assert step.inputs == {
        "app-id": "4242001",
        "private-key": "-----BEGIN RSA PRIVATE KEY-----",
        "permission-statuses": "write",
    }
    step.outputs["token"] = APP_TOKEN


def _event(base_ref: str = "main") -> dict:
    return {
        "action": "synchronize",
        "pull_request": {
            "number": 7,
            "head": {"sha": HEAD, "repo": {"full_name": REPOSITORY}},
            "base": {"sha": BASE, "ref": base_ref},
        },
    }


def _github(base_ref: str = "main") -> dict:
    return {
        "event": _event(base_ref),
        "sha": MAIN,
        "repository": REPOSITORY,
        "run_id": "4242",
        "server_url": "https://github.com",
        "token": "job-token-of-the-github-actions-app",
    }


def _run_verdict(tmp_path: Path, github: StandInGitHub, gate_result: str, *, base_ref: str = "main"):
    env = {**os.environ, "PATH": f"{github.folder}{os.pathsep}{os.environ['PATH']}"}
    job = WorkflowJob(
        load_workflow(WORKFLOW),
        "verdict",
        tmp_path / "verdict-job",
        github=_github(base_ref),
        variables={"GATE_APP_ID": "4242001"},  # environment gate-verdict's (repository_settings sets it)
        actions={"actions/checkout": _checkout_main, "actions/create-github-app-token": _gate_app_token},
        base_env=env,
        contexts={
            "needs": {"gate": {"result": gate_result}},
            "secrets": {"GATE_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----"},
        },
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
    # Set with the gate App's token, the App the check is pinned to; never the job's own token.
    (posted,) = [call for call in github.recorded() if call["args"][:1] == ["api"]]
    assert posted["token"] == APP_TOKEN


def test_only_the_verdict_job_in_its_main_only_environment_holds_the_app_and_no_job_sets_statuses():
    """Any workflow on any branch may ask for `statuses: write`, but its token is the GitHub Actions
    app's, which the required check does not accept. The gate App's key is the one way, and only the
    verdict job, in `gate-verdict` (deployment branches: main), reads it."""
    job = load_workflow(WORKFLOW)["jobs"]["verdict"]
    assert job["needs"] == "gate" and job["environment"] == "gate-verdict"
    assert job["permissions"] == {"contents": "read"}  # the job's own token cannot set a status
    assert job["runs-on"].startswith("ubuntu-")  # no runner inside the network for a status
    holders = []
    for path in WORKFLOWS:
        for name, other in load_workflow(path)["jobs"].items():
            assert (other.get("permissions") or {}).get("statuses") in (None, "none"), f"{path.name}: {name}"
            if "GATE_APP" in str(other) or other.get("environment") == "gate-verdict":
                holders.append((path.name, name))
    assert holders == [("promotion-gate.yml", "verdict")]


def _job_runs(job: dict, github: dict, needs: dict | None = None) -> bool:
    """A job's `if:` as GitHub evaluates it, over the event (status functions: the gate succeeded)."""
    condition = str(job.get("if", "")).strip().removeprefix("${{").removesuffix("}}")
    if not condition:
        return True

    def lookup(name: str) -> object:
        if name in ("always()", "success()"):
            return True
        if name in ("failure()", "cancelled()"):
            return False
        root, _, rest = name.partition(".")
        value: object = {"github": github, "needs": needs or {}}[root]
        for part in rest.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return bool(evaluate(condition, lookup))


def _group(workflow: dict, github: dict) -> str:
    def lookup(name: str) -> object:
        value: object = {"github": github}
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return interpolate(workflow["concurrency"]["group"], lookup)


EDITS = [
    ("opened", None, True),
    ("synchronize", None, True),
    ("reopened", None, True),
    ("edited", {"base": {"ref": {"from": "release"}, "sha": {"from": "f" * 40}}}, True),  # retargeted
    ("edited", {"title": {"from": "Promote credit-risk"}}, False),  # the title alone
    ("edited", {"body": {"from": "- [ ] reviewed"}}, False),  # a box ticked in the description
]


@pytest.mark.parametrize(("action", "changes", "gated"), EDITS)
def test_a_retarget_is_gated_again_and_an_edit_of_the_text_alone_changes_no_verdict(action, changes, gated):
    workflow = load_workflow(WORKFLOW)
    assert action in workflow["on"]["pull_request_target"]["types"]
    github = {**_github(), "run_id": "99"}
    github["event"] = {**_event(), "action": action, **({"changes": changes} if changes else {})}
    jobs = workflow["jobs"]
    assert _job_runs(jobs["gate"], github) is gated
    result = "success" if gated else "skipped"
    # The verdict of a skipped gate would be a failure: an edit of the text sets no status at all,
    # and the last gated run's stands (the base it was gated against is still the base).
    assert _job_runs(jobs["verdict"], github, {"gate": {"result": result}}) is gated
    assert _job_runs(jobs["comment"], github, {"gate": {"result": result}}) is gated
    # Nor does it join the pull request's group, where it would cancel a gate in progress.
    assert (_group(workflow, github) == "promotion-gate-7-gate") is gated


def _gate_job(tmp_path: Path, *, base_ref: str = "main", tracking_uri: str = "http://mlflow.internal:5000"):
    def never(step: StepContext) -> None:
        raise AssertionError(f"{step.name}: nothing may be checked out or assumed before the refusal")

    return WorkflowJob(
        load_workflow(WORKFLOW),
        "gate",
        tmp_path / "gate-job",
        github=_github(base_ref),
        variables={"MLFLOW_TRACKING_URI": tracking_uri},
        actions={"actions/checkout": never, "aws-actions/configure-aws-credentials": never},
        replaced_steps={"install": never, "registry-login": never, "crd-schemas": never},
    ).run()


def test_a_pull_request_into_another_branch_is_refused_before_anything_is_checked_out(tmp_path, github):
    """GitHub runs main's workflow for a pull request into any branch; its base checkout would be that
    branch's code (anyone with write access pushes there), run with the gate's role on the registry's
    runners. Refused first; the verdict, from main's script, says failure."""
    run = _gate_job(tmp_path, base_ref="release/attacker")
    assert run.step("base-is-main").outcome == "failure"
    assert "into main only, not into 'release/attacker'" in run.step("base-is-main").output
    assert {step.outcome for step in run.steps[1:]} == {"skipped"}
    verdict = _run_verdict(tmp_path, github, "failure", base_ref="release/attacker")
    assert verdict.succeeded
    assert [s["state"] for s in github.api_state()["statuses"][HEAD]] == ["failure"]


def test_a_gate_without_the_registrys_address_fails_before_checking_anything_out(tmp_path):
    """Unset, the gate would fall back to an embedded registry inside the checkout, which the pull
    request can commit (`.modelops/mlflow.db`)."""
    run = _gate_job(tmp_path, tracking_uri="")
    assert run.step("base-is-main").outcome == "success"
    assert run.step("registry-address").outcome == "failure"
    assert "MLFLOW_TRACKING_URI" in run.step("registry-address").output
    assert {step.outcome for step in run.steps[2:]} == {"skipped"}


def test_the_status_script_refuses_what_is_not_a_commit(tmp_path, github):
    env = {
        **os.environ,
        "PATH": f"{github.folder}{os.pathsep}{os.environ['PATH']}",
        "REPOSITORY": REPOSITORY,
        "HEAD_SHA": "main",
        "GATE_RESULT": "success",
        "STATUS_CONTEXT": "validate and gate",
        "RUN_URL": "https://github.com/x",
        "GH_TOKEN": APP_TOKEN,
    }
    done = subprocess.run(
        ["bash", str(REPO_ROOT / ".github" / "scripts" / "gate-status.sh")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "not a commit id" in done.stderr
    assert "statuses" not in github.api_state()
    # Without the App's token it sets nothing either (gh would fall back to whatever login it finds).
    done = subprocess.run(
        ["bash", str(REPO_ROOT / ".github" / "scripts" / "gate-status.sh")],
        env={**env, "HEAD_SHA": HEAD, "GH_TOKEN": ""},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "GH_TOKEN is not set" in done.stderr
    assert "statuses" not in github.api_state()


def test_the_comment_job_runs_main_s_comment_script_never_the_base_s(tmp_path, recording_gh):
    """For a pull request into a branch its author can push to, the base's script would run with a
    token that writes pull requests; the comment job takes main's (this run's own commit)."""
    _, recorded = recording_gh

    def download(step: StepContext) -> None:
        folder = step.workspace / step.inputs["path"]
        folder.mkdir(parents=True)
        (folder / "report.md").write_text("## ✅ Promotion gate: PASSED\n")

    run = WorkflowJob(
        load_workflow(WORKFLOW),
        "comment",
        tmp_path / "comment-job",
        github=_github(),
        actions={"actions/checkout": _checkout_main, "actions/download-artifact": download},
        base_env={**os.environ, "PATH": os.environ["PATH"]},
    ).run()
    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]
    posted = recorded()[-1]
    assert posted["args"][:4] == ["api", "--method", "POST", f"repos/{REPOSITORY}/issues/7/comments"]
    assert "Promotion gate: PASSED" in posted["stdin"]
