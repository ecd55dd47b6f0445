"""Apply the repository settings code cannot hold: `python -m modelops.github.repository_settings`.

    python -m modelops.github.repository_settings --repository ORG/REPO \\
        --prod-reviewer team:platform-team [--prod-reviewer user:alice ...]

With standard `gh api` calls (run it as a repository administrator, `gh auth login` first):
- branch protection on main: pull requests only, the promotion gate's check required (from the
  GitHub Actions app, so no other app or token can post a passing status of the same name),
  code owners' review, no force pushes or deletions, administrators included;
- the environments dev, staging, prod and registry, each deployable from main only (a custom
  branch policy naming main, and nothing else), prod with the required reviewers given;
- the pull-request app's key (PROMOTION_APP_PRIVATE_KEY) a secret of `registry` only: a repository
  secret of that name is deleted once registry holds its own, and refused (exit 2) until it does;
- the OIDC token's `sub` claim made of `repo`, `context` and `job_workflow_ref`
  (`repo:ORG/REPO:environment:prod:job_workflow_ref:ORG/REPO/.github/workflows/infra.yml@refs/heads/main`),
  since AWS reads no other GitHub claim in a trust policy: the CI roles (infra/ ci_access.py) pin the
  workflow file and ref through `sub` alone. Apply it before the first `pulumi up` of a stack whose
  roles pin it, or no job can assume them.

Every call sets the whole state, so a second run changes nothing. A missing argument or a refused
call exits 2 with one line naming it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ruamel.yaml import YAML

from modelops.config import project_root
from modelops.errors import InputError

ENVIRONMENTS = ("dev", "staging", "prod", "registry")
REVIEWED = "prod"
DEPLOY_BRANCH = "main"
PROTECTED_BRANCH = "main"
# The GitHub Actions app: a required check pinned to it cannot be satisfied by a commit status
# another app or a personal token posts under the same name.
GITHUB_ACTIONS_APP_ID = 15368
GATE_WORKFLOW = Path(".github/workflows/promotion-gate.yml")
GATE_JOB = "gate"
VERDICT_JOB = "verdict"  # sets the required status on the pull request's head commit
APP_KEY = "PROMOTION_APP_PRIVATE_KEY"
APP_KEY_ENVIRONMENT = "registry"
# The claims GitHub joins into `sub`, in this order; infra/ builds the subjects its roles trust to match.
OIDC_SUBJECT_CLAIMS = ("repo", "context", "job_workflow_ref")
ATTEMPTS = 3
TIMEOUT_SECONDS = 60

# api(method, path, body=None, *, absent_ok=False) -> parsed JSON; None for an empty answer, or
# for a 404 when absent_ok.
Api = Callable[..., Any]


@dataclass(frozen=True)
class Reviewer:
    kind: str  # "team" or "user"
    name: str  # a team's slug in the repository's organisation, or a user's login


def parse_reviewer(text: str) -> Reviewer:
    kind, _, name = text.partition(":")
    if kind not in ("team", "user") or not name or ":" in name:
        raise InputError(f"--prod-reviewer {text!r}: write team:<slug> or user:<login>")
    return Reviewer(kind, name)


def gate_check_name(root: Path) -> str:
    """The promotion gate's required context: the status its `verdict` job sets on the pull request's
    head commit (`STATUS_CONTEXT`), which is also the gate job's name."""
    path = root / GATE_WORKFLOW
    try:
        jobs = YAML(typ="safe").load(path.read_text())["jobs"]
        context = str(jobs[VERDICT_JOB]["env"]["STATUS_CONTEXT"])
        name = str(jobs[GATE_JOB].get("name") or GATE_JOB)
    except (OSError, KeyError, TypeError) as error:
        raise InputError(
            f"{path}: no job {VERDICT_JOB!r} with env STATUS_CONTEXT to require ({error})"
        ) from error
    if context != name:
        raise InputError(
            f"{path}: the verdict's STATUS_CONTEXT {context!r} is not the gate job's name {name!r}"
        )
    return context


def protection_body(check: str) -> dict[str, Any]:
    return {
        "required_status_checks": {
            "strict": True,
            "checks": [{"context": check, "app_id": GITHUB_ACTIONS_APP_ID}],
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


def environment_body(reviewer_ids: Sequence[tuple[str, int]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "wait_timer": 0,
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    if reviewer_ids:
        body["reviewers"] = [{"type": kind, "id": number} for kind, number in reviewer_ids]
        body["prevent_self_review"] = True
    else:
        body["reviewers"] = []
    return body


def apply(api: Api, repository: str, *, reviewers: Sequence[Reviewer], check: str) -> list[str]:
    """Apply every setting through `api`; returns what was done, one line each."""
    if not reviewers:
        raise InputError("--prod-reviewer: prod needs at least one required reviewer")
    owner = repository.split("/", 1)[0]
    reviewer_ids = []
    for reviewer in reviewers:
        if reviewer.kind == "team":
            found = api("GET", f"/orgs/{owner}/teams/{reviewer.name}")
            reviewer_ids.append(("Team", int(found["id"])))
        else:
            found = api("GET", f"/users/{reviewer.name}")
            reviewer_ids.append(("User", int(found["id"])))
    done = []
    api("PUT", f"/repos/{repository}/branches/{PROTECTED_BRANCH}/protection", protection_body(check))
    done.append(f"branch protection on {PROTECTED_BRANCH}: requires {check!r}")
    for environment in ENVIRONMENTS:
        base = f"/repos/{repository}/environments/{environment}"
        api("PUT", base, environment_body(reviewer_ids if environment == REVIEWED else ()))
        listed = api("GET", f"{base}/deployment-branch-policies?per_page=100") or {}
        policies = listed.get("branch_policies", [])
        if not any(p.get("name") == DEPLOY_BRANCH and p.get("type", "branch") == "branch" for p in policies):
            api("POST", f"{base}/deployment-branch-policies", {"name": DEPLOY_BRANCH, "type": "branch"})
        for policy in policies:  # anything but main is a way around the environment
            if (policy.get("name"), policy.get("type", "branch")) != (DEPLOY_BRANCH, "branch"):
                api("DELETE", f"{base}/deployment-branch-policies/{policy['id']}")
        done.append(f"environment {environment}: deployable from {DEPLOY_BRANCH} only")
    done.append(
        f"environment {REVIEWED}: required reviewers {', '.join(r.kind + ':' + r.name for r in reviewers)}"
    )
    api("PUT", f"/repos/{repository}/actions/oidc/customization/sub", oidc_subject_body())
    done.append(f"OIDC subject claim: {':'.join(OIDC_SUBJECT_CLAIMS)}")
    done.append(keep_app_key_in_environment(api, repository))
    return done


def oidc_subject_body() -> dict[str, Any]:
    return {"use_default": False, "include_claim_keys": list(OIDC_SUBJECT_CLAIMS)}


def keep_app_key_in_environment(api: Api, repository: str) -> str:
    """A repository secret reaches every workflow on every branch; registry's reaches main's jobs there."""
    in_environment = api(
        "GET", f"/repos/{repository}/environments/{APP_KEY_ENVIRONMENT}/secrets/{APP_KEY}", absent_ok=True
    )
    in_repository = api("GET", f"/repos/{repository}/actions/secrets/{APP_KEY}", absent_ok=True)
    set_it = f"gh secret set {APP_KEY} --env {APP_KEY_ENVIRONMENT} --repo {repository} < app-key.pem"
    if in_repository is not None and in_environment is None:
        raise InputError(
            f"secret {APP_KEY}: a repository secret, not yet one of {APP_KEY_ENVIRONMENT}; {set_it}"
        )
    if in_repository is not None:
        api("DELETE", f"/repos/{repository}/actions/secrets/{APP_KEY}")
        return f"secret {APP_KEY}: deleted from the repository; {APP_KEY_ENVIRONMENT}'s own is the one read"
    if in_environment is None:
        return f"secret {APP_KEY}: not set yet: {set_it}"
    return f"secret {APP_KEY}: in {APP_KEY_ENVIRONMENT} only"


def gh_api(method: str, path: str, body: dict[str, Any] | None = None, *, absent_ok: bool = False) -> Any:
    """One `gh api` call, retried on a timeout or a server error; a refusal is an InputError."""
    command = ["gh", "api", "--method", method, "-H", "Accept: application/vnd.github+json", path]
    if body is not None:
        command += ["--input", "-"]
    reason = "no answer"
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(2**attempt)
        try:
            done = subprocess.run(
                command,
                input=json.dumps(body) if body is not None else None,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            reason = f"no answer in {TIMEOUT_SECONDS}s"
            continue
        except FileNotFoundError as error:
            raise InputError("gh: not installed (https://cli.github.com)") from error
        if done.returncode == 0:
            return json.loads(done.stdout) if done.stdout.strip() else None
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        if absent_ok and "HTTP 404" in reason:
            return None
        if not any(f"HTTP {code}" in reason for code in (500, 502, 503, 504)):
            break
    raise InputError(f"gh api {method} {path}: {reason}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, like every other input error
        self.exit(2, f"error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m modelops.github.repository_settings", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repository", required=True, help="ORG/REPO")
    parser.add_argument(
        "--prod-reviewer",
        action="append",
        default=[],
        required=True,
        help="team:<slug> or user:<login>; repeat for several",
    )
    args = parser.parse_args(argv)
    try:
        if args.repository.count("/") != 1 or not all(args.repository.split("/")):
            raise InputError(f"--repository {args.repository!r}: write ORG/REPO")
        reviewers = [parse_reviewer(text) for text in args.prod_reviewer]
        for line in apply(
            gh_api, args.repository, reviewers=reviewers, check=gate_check_name(project_root())
        ):
            print(line)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
