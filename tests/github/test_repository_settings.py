"""The repository settings script against a stand-in GitHub: the exact requests, idempotent, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops.github.repository_settings import gate_check_name
from tests.conftest import REPO_ROOT
from tests.github.stand_in_github import StandInGitHub
from tests.github.workflow_runner import load_workflow

REPO = "example-org/modelops-platform"
ENVIRONMENTS = ["dev", "staging", "prod", "registry", "gate-verdict"]
GATE_APP_ID = 4242001  # the gate's own GitHub App
GITHUB_ACTIONS_APP_ID = 15368  # the app every workflow's own token belongs to
MAIN_ONLY = {"protected_branches": False, "custom_branch_policies": True}


@pytest.fixture()
def github(tmp_path: Path) -> StandInGitHub:
    stand_in = StandInGitHub.install(tmp_path / "github")
    stand_in.set_api_state(teams={"platform-team": 4411}, users={"alice": 901})
    return stand_in


def _apply(github: StandInGitHub, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{github.folder}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MODELOPS_ROOT", None)
    return subprocess.run(
        [sys.executable, "-m", "modelops.github.repository_settings", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


ARGS = (
    "--repository", REPO, "--gate-app-id", str(GATE_APP_ID),
    "--prod-reviewer", "team:platform-team", "--prod-reviewer", "user:alice",
)  # fmt: skip


def test_the_required_check_is_the_status_the_verdict_sets_and_no_job_bears_its_name():
    gate = load_workflow(REPO_ROOT / ".github" / "workflows" / "promotion-gate.yml")
    assert (
        gate_check_name(REPO_ROOT) == gate["jobs"]["verdict"]["env"]["STATUS_CONTEXT"] == "validate and gate"
    )
    # A check run of that name (the GitHub Actions app's) would show beside the required status.
    assert "validate and gate" not in [job.get("name", key) for key, job in gate["jobs"].items()]


def test_a_job_named_like_the_required_check_is_refused(tmp_path):
    workflow = REPO_ROOT / ".github" / "workflows" / "promotion-gate.yml"
    copy = tmp_path / ".github" / "workflows" / "promotion-gate.yml"
    copy.parent.mkdir(parents=True)
    copy.write_text(workflow.read_text().replace("name: promotion gate\n", "name: validate and gate\n"))
    with pytest.raises(InputError, match="a job is named 'validate and gate'"):
        gate_check_name(tmp_path)


def test_the_script_makes_exactly_these_requests(github):
    done = _apply(github, *ARGS)
    assert done.returncode == 0, done.stderr
    protection = {
        "required_status_checks": {
            "strict": True,
            # The gate's App alone: a status the GitHub Actions app sets (any workflow's token) is no verdict.
            "checks": [{"context": "validate and gate", "app_id": GATE_APP_ID}],
        },
        "enforce_admins": True,
        "required_pull_request_reviews": {
            "dismiss_stale_reviews": True,
            "require_code_owner_reviews": True,
            "required_approving_review_count": 1,
            "require_last_push_approval": True,
        },
        "restrictions": None,
        "required_linear_history": False,
        "allow_force_pushes": False,
        "allow_deletions": False,
        "required_conversation_resolution": True,
    }
    expected: list[tuple[str, str, object]] = [
        ("GET", "/orgs/example-org/teams/platform-team", None),
        ("GET", "/users/alice", None),
        ("PUT", f"/repos/{REPO}/branches/main/protection", protection),
    ]
    for name in ENVIRONMENTS:
        base = f"/repos/{REPO}/environments/{name}"
        body: dict[str, object] = {"wait_timer": 0, "deployment_branch_policy": MAIN_ONLY, "reviewers": []}
        if name == "prod":
            body["reviewers"] = [{"type": "Team", "id": 4411}, {"type": "User", "id": 901}]
            body["prevent_self_review"] = True
        expected += [
            ("PUT", base, body),
            ("GET", f"{base}/deployment-branch-policies?per_page=100", None),
            ("POST", f"{base}/deployment-branch-policies", {"name": "main", "type": "branch"}),
        ]
    # Previews run a pull request's own workflow file at its merge ref (any branch): reviewed instead.
    preview = {
        "wait_timer": 0,
        "deployment_branch_policy": None,
        "reviewers": [{"type": "Team", "id": 4411}, {"type": "User", "id": 901}],
        "prevent_self_review": True,
    }
    variables = f"/repos/{REPO}/environments/gate-verdict/variables"
    oidc_subject = {"use_default": False, "include_claim_keys": ["repo", "context", "job_workflow_ref"]}
    expected += [
        ("PUT", f"/repos/{REPO}/environments/infra-preview", preview),
        ("GET", f"{variables}/GATE_APP_ID", None),
        ("POST", variables, {"name": "GATE_APP_ID", "value": str(GATE_APP_ID)}),
        ("PUT", f"/repos/{REPO}/actions/oidc/customization/sub", oidc_subject),
        ("GET", f"/repos/{REPO}/environments/registry/secrets/PROMOTION_APP_PRIVATE_KEY", None),
        ("GET", f"/repos/{REPO}/actions/secrets/PROMOTION_APP_PRIVATE_KEY", None),
        ("GET", f"/repos/{REPO}/environments/gate-verdict/secrets/GATE_APP_PRIVATE_KEY", None),
        ("GET", f"/repos/{REPO}/actions/secrets/GATE_APP_PRIVATE_KEY", None),
    ]
    assert github.requests() == expected
    state = github.api_state()
    assert {name: [p["name"] for p in state["policies"][name]] for name in ENVIRONMENTS} == {
        name: ["main"] for name in ENVIRONMENTS
    }
    assert f"branch protection on main: requires 'validate and gate' from app {GATE_APP_ID}" in done.stdout
    assert state["oidc_subject"] == oidc_subject
    # The App the verdict job signs with is the App the check is pinned to: one number, set once.
    assert state["variables"]["gate-verdict"] == {"GATE_APP_ID": str(GATE_APP_ID)}
    verdict = load_workflow(REPO_ROOT / ".github" / "workflows" / "promotion-gate.yml")["jobs"]["verdict"]
    token_step = next(step for step in verdict["steps"] if step.get("id") == "app-token")
    assert (
        token_step["with"]["app-id"] == "${{ vars.GATE_APP_ID }}" and verdict["environment"] == "gate-verdict"
    )
    assert GATE_APP_ID != GITHUB_ACTIONS_APP_ID


def test_a_gate_app_id_changed_by_hand_is_set_back(github):
    """The variable the verdict signs with and the App the check is pinned to must not drift apart."""
    assert _apply(github, *ARGS).returncode == 0
    github.set_api_state(variables={"gate-verdict": {"GATE_APP_ID": "999"}})
    assert _apply(github, *ARGS).returncode == 0
    assert github.api_state()["variables"]["gate-verdict"] == {"GATE_APP_ID": str(GATE_APP_ID)}
    assert (
        "PATCH",
        f"/repos/{REPO}/environments/gate-verdict/variables/GATE_APP_ID",
        {"name": "GATE_APP_ID", "value": str(GATE_APP_ID)},
    ) in github.requests()


def test_a_second_run_changes_nothing(github):
    assert _apply(github, *ARGS).returncode == 0
    after_first = github.api_state()
    calls = len(github.requests())
    assert _apply(github, *ARGS).returncode == 0
    assert github.api_state() == after_first
    second = github.requests()[calls:]
    assert not [call for call in second if call[0] in ("POST", "DELETE")]  # no policy added or removed


def test_a_branch_policy_someone_added_by_hand_is_removed(github):
    """A `release/*` (or `*`) policy would let a job from another branch into the environment."""
    assert _apply(github, *ARGS).returncode == 0
    state = github.api_state()
    state["policies"]["registry"].append({"id": 555, "name": "*", "type": "branch"})
    state["policies"]["prod"].append({"id": 556, "name": "v*", "type": "tag"})
    github.set_api_state(policies=state["policies"])
    assert _apply(github, *ARGS).returncode == 0
    assert [p["name"] for p in github.api_state()["policies"]["registry"]] == ["main"]
    assert [p["name"] for p in github.api_state()["policies"]["prod"]] == ["main"]
    deleted = [path for method, path, _ in github.requests() if method == "DELETE"]
    assert deleted == [
        f"/repos/{REPO}/environments/prod/deployment-branch-policies/556",
        f"/repos/{REPO}/environments/registry/deployment-branch-policies/555",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--repository", REPO, "--gate-app-id", "7"),
            "error: the following arguments are required: --prod-reviewer",
        ),
        (
            ("--gate-app-id", "7", "--prod-reviewer", "team:platform-team"),
            "error: the following arguments are required: --repository",
        ),
        (
            ("--repository", REPO, "--prod-reviewer", "team:platform-team"),
            "error: the following arguments are required: --gate-app-id",
        ),
        (
            ("--repository", REPO, "--gate-app-id", "actions", "--prod-reviewer", "user:alice"),
            "error: argument --gate-app-id: invalid int value",
        ),
        (
            ("--repository", REPO, "--gate-app-id", "0", "--prod-reviewer", "user:alice"),
            "error: --gate-app-id 0",
        ),
        (
            ("--repository", "modelops-platform", "--gate-app-id", "7", "--prod-reviewer", "user:alice"),
            "error: --repository",
        ),
        (
            ("--repository", REPO, "--gate-app-id", "7", "--prod-reviewer", "platform-team"),
            "error: --prod-reviewer 'platform-team'",
        ),
    ],
)
def test_a_missing_or_malformed_argument_exits_2_with_one_line_and_calls_nothing(github, args, message):
    done = _apply(github, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert github.requests() == []


def test_an_unknown_reviewer_exits_2_before_changing_anything(github):
    done = _apply(github, "--repository", REPO, "--gate-app-id", "7", "--prod-reviewer", "team:nobody")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        "error: gh api GET /orgs/example-org/teams/nobody: gh: Not Found (HTTP 404)"
    )
    assert [method for method, _, _ in github.requests()] == ["GET"]


def test_a_refused_call_exits_2_with_one_line_naming_it(github):
    github.refuse("/branches/main/protection")  # e.g. a token without administration rights
    done = _apply(github, *ARGS)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: gh api PUT /repos/{REPO}/branches/main/protection: "
        "gh: Resource not accessible by integration (HTTP 403)\n"
    )
    assert "environments" not in github.api_state()  # stopped at the refusal


KEY = "PROMOTION_APP_PRIVATE_KEY"
GATE_KEY = "GATE_APP_PRIVATE_KEY"


def test_the_app_key_leaves_the_repository_once_registry_holds_it(github):
    github.set_api_state(secrets={"repository": [KEY], "registry": [KEY]})
    done = _apply(github, *ARGS)
    assert done.returncode == 0, done.stderr
    assert github.api_state()["secrets"]["repository"] == [] and github.api_state()["secrets"][
        "registry"
    ] == [KEY]
    assert ("DELETE", f"/repos/{REPO}/actions/secrets/{KEY}", None) in github.requests()
    assert f"secret {KEY}: deleted from the repository" in done.stdout
    assert f"secret {KEY}: in registry only" in _apply(github, *ARGS).stdout  # and stays so


def test_the_gate_apps_key_as_a_repository_secret_is_refused_then_removed(github):
    """A repository secret reaches any workflow on any branch: with the gate App's key, any of them
    could set the required status."""
    github.set_api_state(secrets={"repository": [GATE_KEY], "registry": [KEY]})
    done = _apply(github, *ARGS)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        f"error: secret {GATE_KEY}: a repository secret, not yet one of gate-verdict; gh secret set"
    )
    github.set_api_state(secrets={"repository": [GATE_KEY], "registry": [KEY], "gate-verdict": [GATE_KEY]})
    done = _apply(github, *ARGS)
    assert done.returncode == 0, done.stderr
    assert github.api_state()["secrets"]["repository"] == []
    assert f"secret {GATE_KEY}: deleted from the repository" in done.stdout


def test_a_key_only_in_the_repository_is_refused_not_deleted(github):
    """Deleting it first would leave retrain, rollout and rollback without a key."""
    github.set_api_state(secrets={"repository": [KEY]})
    done = _apply(github, *ARGS)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        f"error: secret {KEY}: a repository secret, not yet one of registry; gh secret set"
    )
    assert github.api_state()["secrets"]["repository"] == [KEY]
    assert not [call for call in github.requests() if call[0] == "DELETE"]
    # Everything before it was applied: a second run after setting the key has nothing else to do.
    assert set(github.api_state()["environments"]) == {*ENVIRONMENTS, "infra-preview"}


def test_without_the_key_anywhere_the_script_says_how_to_set_it(github):
    done = _apply(github, *ARGS)
    assert done.returncode == 0
    assert f"secret {KEY}: not set yet: gh secret set {KEY} --env registry --repo {REPO}" in done.stdout
