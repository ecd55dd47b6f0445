"""The promotion-gate workflow's own steps, run in order in a clone, on a fixture pull request.

The base commit pins the champion everywhere; the head is what `modelops promote` commits for a
registered version. Steps that cannot run here get explicit local equivalents:

- actions/checkout: a clone of the fixture repository at the requested revision, full history.
- the CRD schemas: already at ../shared/schemas/crds here; checked against the committed sums
  exactly as the step checks its downloads.
- install: the test session already runs in the project's locked environment; its bin folder
  goes on PATH the way the step adds .venv/bin.
- the OIDC role and the registry login: the registry is the session's local MLflow, which needs
  no credentials; both are still checked to receive the role and the secret they would use.
- upload/download-artifact: a folder standing in for the run's artifact store.
- the comment's `gh` calls: a stand-in `gh` on PATH that records them (tests/github/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from modelops.github.sticky_comment import marker
from modelops.registry import configure, tags
from modelops.serving.mlserver import runtime_project
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT, register_demo_model
from tests.github.local_steps import (
    REPOSITORY,
    ArtifactStore,
    assume_role,
    checkout_from,
    crd_schemas,
    git,
    install,
    make_origin,
    open_pull_request,
    registry_login,
    runner_env,
)
from tests.github.workflow_runner import JobRun, WorkflowJob, load_workflow

pytestmark = pytest.mark.slow

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "promotion-gate.yml"
RECORD = REPO_ROOT / ".github" / "workflows" / "record.yml"


@pytest.fixture()
def origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Path:
    return make_origin(tmp_path, monkeypatch, demo_versions)


def run_gate_job(
    origin: Path, pull_request: dict, tmp_path: Path, artifacts: ArtifactStore
) -> tuple[JobRun, Path]:
    workspace = tmp_path / "gate-job"
    job = WorkflowJob(
        load_workflow(WORKFLOW),
        "gate",
        workspace,
        github=_github_context(pull_request),
        variables={
            "MLFLOW_TRACKING_URI": configure(),
            "GATE_ROLE_ARN": "arn:aws:iam::123456789012:role/modelops-dev-gate",
            "AWS_REGION": "eu-west-1",
            "MLFLOW_GATE_SECRET": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow-gate",
        },
        actions={
            "actions/checkout": checkout_from(origin),
            "aws-actions/configure-aws-credentials": assume_role,
            "actions/upload-artifact": artifacts.upload,
        },
        replaced_steps={"install": install, "registry-login": registry_login, "crd-schemas": crd_schemas},
        base_env=runner_env(),
    )
    return job.run(), workspace / "reports" / "promotion-gate"


def run_comment_job(origin: Path, pull_request: dict, tmp_path: Path, artifacts: ArtifactStore) -> JobRun:
    job = WorkflowJob(
        load_workflow(WORKFLOW),
        "comment",
        tmp_path / "comment-job",
        github=_github_context(pull_request),
        actions={"actions/checkout": checkout_from(origin), "actions/download-artifact": artifacts.download},
        base_env=runner_env(),
    )
    return job.run()


def _github_context(pull_request: dict) -> dict:
    return {
        "event": {"action": "opened", "pull_request": pull_request},
        "sha": pull_request["base"]["sha"],  # main's tip: the commit this run's workflow file comes from
        "repository": REPOSITORY,
        "run_id": "4242",
        "server_url": "https://github.com",
        "token": "local-token",
    }


def _decision(verdict: dict) -> dict:
    """What a verdict decides, without where its files went."""
    return {
        "passed": verdict["passed"],
        "validation": {k: v for k, v in verdict["validation"].items() if k != "source"},
        "releases": [{k: v for k, v in r.items() if k != "report"} for r in verdict["releases"]],
    }


def test_the_workflow_gates_a_promotion_like_the_command_run_by_hand(
    origin, demo_versions, recording_gh, tmp_path, monkeypatch
):
    pull_request = open_pull_request(origin, demo_versions.better, monkeypatch)
    artifacts = ArtifactStore(tmp_path / "artifacts")

    run, reports = run_gate_job(origin, pull_request, tmp_path, artifacts)

    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]
    assert [s.outcome for s in run.steps] == ["success"] * len(run.steps)
    verdict = json.loads((reports / "verdict.json").read_text())
    assert [(r["model"], r["environment"], r["challenger"], r["champion"]) for r in verdict["releases"]] == [
        ("credit-risk", "dev", demo_versions.better, demo_versions.champion)
    ]
    report = (reports / "report.md").read_text()
    assert report in run.summary
    assert (artifacts.folder / "promotion-gate-reports" / "credit-risk" / "dev").is_dir() or any(
        artifacts.folder.rglob("drift.html")
    )

    # By hand, in a checkout of the same head: the same decision and the same report table.
    by_hand_root = tmp_path / "by-hand"
    subprocess.run(["git", "clone", "--quiet", str(origin), str(by_hand_root)], check=True)
    git(by_hand_root, "checkout", "--quiet", "--detach", pull_request["head"]["sha"])
    monkeypatch.setenv("MODELOPS_ROOT", str(by_hand_root))
    by_hand = invoke(
        "gate", "--base", pull_request["base"]["sha"], "--head", pull_request["head"]["sha"],
        "--out", tmp_path / "by-hand-reports", "--json",
    )  # fmt: skip
    assert by_hand.exit_code == 0, by_hand.output
    assert _decision(json.loads(by_hand.stdout)) == _decision(verdict)
    table = report.split("<details>")[0]
    by_hand_table = (tmp_path / "by-hand-reports" / "report.md").read_text().split("<details>")[0]
    assert by_hand_table == table

    # The comment job posts the same report once; a second run edits that comment.
    listing, recorded = recording_gh
    comment = run_comment_job(origin, pull_request, tmp_path, artifacts)
    assert comment.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in comment.steps]
    posted = recorded()[-1]
    assert posted["args"][:4] == ["api", "--method", "POST", f"repos/{REPOSITORY}/issues/7/comments"]
    body = json.loads(posted["stdin"])["body"]
    assert body.startswith(marker("promotion-gate")) and table.strip() in body
    assert "actions/runs/4242" in body
    listing.write_text(json.dumps({"id": 31, "user": "github-actions[bot]", "body": body}) + "\n")
    assert run_comment_job(origin, pull_request, tmp_path / "again", artifacts).succeeded
    assert recorded()[-1]["args"][:4] == [
        "api",
        "--method",
        "PATCH",
        f"repos/{REPOSITORY}/issues/comments/31",
    ]


def test_a_blocked_promotion_fails_the_job_and_still_reports_why(
    origin, demo_versions, tmp_path, monkeypatch
):
    pull_request = open_pull_request(origin, demo_versions.biased, monkeypatch)
    artifacts = ArtifactStore(tmp_path / "artifacts")

    run, reports = run_gate_job(origin, pull_request, tmp_path, artifacts)

    assert not run.succeeded
    assert run.step("gate").outcome == "failure"
    assert run.step("summary").outcome == "success"  # the report still reaches the summary...
    assert (artifacts.folder / "promotion-gate-reports" / "report.md").is_file()  # ...and the artifacts
    verdict = json.loads((reports / "verdict.json").read_text())
    assert verdict["passed"] is False
    [release] = verdict["releases"]
    assert release["challenger"] == demo_versions.biased and not release["passed"]
    assert any("fairness" in reason for reason in release["reasons"]), release["reasons"]
    assert "BLOCKED" in run.summary


def run_record_job(
    origin: Path, tmp_path: Path, gh_folder: Path, *, before: str, sha: str, name: str
) -> JobRun:
    """record.yml's job on a push to main; `gh` (for moving the recorded/main tag) is a stand-in."""
    env = runner_env()
    env["PATH"] = f"{gh_folder}{os.pathsep}{env['PATH']}"
    return WorkflowJob(
        load_workflow(RECORD),
        "record",
        tmp_path / name,
        github={
            "event": {"before": before},
            "sha": sha,
            "repository": REPOSITORY,
            "run_id": "77",
            "token": "job-token",
        },
        variables={
            "MLFLOW_TRACKING_URI": configure(),
            "RETRAIN_ROLE_ARN": "arn:aws:iam::123456789012:role/modelops-dev-retrain",
            "AWS_REGION": "eu-west-1",
            "MLFLOW_RETRAIN_SECRET": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow-retrain",
        },
        actions={
            "actions/checkout": checkout_from(origin),
            "aws-actions/configure-aws-credentials": assume_role,
        },
        replaced_steps={"install": install, "registry-login": registry_login, "crd-schemas": crd_schemas},
        base_env=env,
    ).run()


def test_the_pull_request_only_reports_and_the_merge_records_the_decision(
    origin, german_credit, tmp_path, monkeypatch, pr_gh
):
    version = register_demo_model("better", german_credit)  # a version no other test has gated
    pull_request = open_pull_request(origin, version, monkeypatch)
    run, _ = run_gate_job(origin, pull_request, tmp_path, ArtifactStore(tmp_path / "artifacts"))
    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]
    client = mlflow.MlflowClient()
    assert tags.gate("dev") not in client.get_model_version("credit-risk", version).tags  # read-only

    before = pull_request["base"]["sha"]
    git(origin, "merge", "--no-ff", "--quiet", "-m", "Merge the promotion", pull_request["head"]["sha"])
    merged = git(origin, "rev-parse", "main").strip()
    record = run_record_job(origin, tmp_path, pr_gh[0], before=before, sha=merged, name="record-job")
    assert record.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in record.steps]
    recorded = client.get_model_version("credit-risk", version).tags
    assert recorded[tags.gate("dev")] == "passed"
    assert recorded[tags.gate_run("dev")]  # the gate run behind the tag
    assert "PASSED" in record.summary
    assert git(origin, "rev-parse", "refs/tags/recorded/main").strip() == merged


def test_a_cancelled_record_run_loses_no_decision(origin, german_credit, tmp_path, monkeypatch, pr_gh):
    """The merge's own run is cancelled (a later push replaced it while pending); the later run,
    whose `before` is the merge, still records the merged promotion's decision."""
    start = git(origin, "rev-parse", "main").strip()
    git(origin, "tag", "recorded/main", start)  # where the last successful record run finished
    version = register_demo_model("better", german_credit)
    pull_request = open_pull_request(origin, version, monkeypatch)
    git(origin, "merge", "--no-ff", "--quiet", "-m", "Merge the promotion", pull_request["head"]["sha"])
    merged = git(origin, "rev-parse", "main").strip()  # its record run never happens
    notes = origin / "policies" / "NOTES.md"
    notes.write_text("A later change under policies/, which triggers record again.\n")
    git(origin, "add", "-A")
    git(origin, "commit", "--quiet", "-m", "A later push")
    later = git(origin, "rev-parse", "main").strip()
    client = mlflow.MlflowClient()
    assert tags.gate("dev") not in client.get_model_version("credit-risk", version).tags

    record = run_record_job(origin, tmp_path, pr_gh[0], before=merged, sha=later, name="later-run")
    assert record.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in record.steps]
    assert record.step("since").outcome == "success"
    assert client.get_model_version("credit-risk", version).tags[tags.gate("dev")] == "passed"
    assert git(origin, "rev-parse", "refs/tags/recorded/main").strip() == later


SABOTAGE = """

# A pull request's edit: every fairness verdict passes.
_judged = check_fairness


def check_fairness(*args, **kwargs):  # type: ignore[no-redef]
    return GateResult("fairness", True, (), _judged(*args, **kwargs).measured)
"""


def test_a_pull_request_changing_the_gate_cannot_change_its_own_verdict(
    origin, demo_versions, tmp_path, monkeypatch
):
    # The biased model, blocked by fairness, promoted together with a gate that passes everything.
    pull_request = open_pull_request(origin, demo_versions.biased, monkeypatch)
    branch = pull_request["head"]["ref"]
    git(origin, "checkout", "--quiet", branch)
    fairness = origin / "scripts/modelops/gates/fairness.py"
    fairness.write_text(fairness.read_text() + SABOTAGE)
    git(origin, "commit", "--quiet", "-am", "Tidy the fairness gate")
    git(origin, "checkout", "--quiet", "main")
    pull_request["head"]["sha"] = git(origin, "rev-parse", branch).strip()

    run, reports = run_gate_job(origin, pull_request, tmp_path, ArtifactStore(tmp_path / "artifacts"))

    assert run.step("gate").outcome == "failure"
    [release] = json.loads((reports / "verdict.json").read_text())["releases"]
    assert any(reason.startswith("fairness:") for reason in release["reasons"]), release["reasons"]

    # Control: the pull request's own code, had it run, would have passed the same release.
    head = tmp_path / "head-code"
    subprocess.run(["git", "clone", "--quiet", str(origin), str(head)], check=True)
    git(head, "checkout", "--quiet", "--detach", pull_request["head"]["sha"])
    runtime = str(runtime_project())  # the model server's environment, as `make sync` leaves it
    sabotaged = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'modelops'; from modelops.cli import main; main()",
         "gate", "--base", pull_request["base"]["sha"], "--head", pull_request["head"]["sha"],
         "--out", str(tmp_path / "sabotaged"), "--no-record", "--no-html", "--json"],
        cwd=head, capture_output=True, text=True,
        env={**runner_env(), "PYTHONPATH": str(head / "scripts"), "MODELOPS_SERVING_RUNTIME": runtime},
    )  # fmt: skip
    assert sabotaged.returncode == 0, sabotaged.stdout + sabotaged.stderr
    assert json.loads(sabotaged.stdout)["releases"][0]["passed"] is True


def test_the_check_reports_on_a_pull_request_with_nothing_to_gate(origin, tmp_path):
    git(origin, "checkout", "--quiet", "-b", "docs")
    (origin / "docs.md").write_text("How we work.\n")
    git(origin, "add", "-A")
    git(origin, "commit", "--quiet", "-m", "Document how we work")
    git(origin, "checkout", "--quiet", "main")
    pull_request = {
        "number": 8,
        "base": {"sha": git(origin, "rev-parse", "main").strip(), "ref": "main"},
        "head": {
            "sha": git(origin, "rev-parse", "docs").strip(),
            "ref": "docs",
            "repo": {"full_name": REPOSITORY},
        },
    }

    run, reports = run_gate_job(origin, pull_request, tmp_path, ArtifactStore(tmp_path / "artifacts"))

    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]
    assert "Nothing to gate" in run.summary
    assert json.loads((reports / "verdict.json").read_text())["releases"] == []


def test_the_gate_reports_on_every_pull_request():
    """A `paths:` filter would leave the required check pending on pull requests it skips."""
    triggers = load_workflow(WORKFLOW)["on"]
    # pull_request_target: main's workflow file, so the runner inside the network runs reviewed steps.
    assert set(triggers) == {"pull_request_target"}
    for key in ("paths", "paths-ignore", "branches-ignore"):
        assert not (triggers["pull_request_target"] or {}).get(key), key
