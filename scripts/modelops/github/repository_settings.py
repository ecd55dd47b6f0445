"""Apply the repository settings code cannot hold: `python -m modelops.github.repository_settings`.

    python -m modelops.github.repository_settings --repository ORG/REPO --gate-app-id 123456 \\
        --prod-reviewer team:platform-team [--prod-reviewer user:alice ...]

With standard `gh api` calls (run it as a repository administrator, `gh auth login` first):
- branch protection on main: pull requests only, the promotion gate's check required from the gate's
  own GitHub App (`--gate-app-id`; installed on the repository with "Commit statuses: write" alone),
  code owners' review, no force pushes or deletions, administrators included. Not from the GitHub
  Actions app: every workflow on every branch can get a token of that app with `statuses: write`;
- the environments dev, staging, prod, registry and gate-verdict, each deployable from main only (a
  custom branch policy naming main, and nothing else), prod with the required reviewers given;
  gate-verdict holds the gate App's id (variable GATE_APP_ID, set here from `--gate-app-id`, so the
  App that signs the status and the App the check is pinned to are one number) and its key;
- the environment infra-preview, for previews of pull requests (which run the pull request's own
  workflow file and Pulumi program): the same required reviewers, no self-review; any branch, since
  a pull request's job runs at its merge ref. The preview roles trust this environment alone;
- the app keys as secrets of their environments only (PROMOTION_APP_PRIVATE_KEY of `registry`,
  GATE_APP_PRIVATE_KEY of `gate-verdict`): a repository secret of such a name is deleted once the
  environment holds its own, and refused (exit 2) until it does;
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
from modelops.gitops.repository.layout import PROTECTED_BRANCH

GATE_ENVIRONMENT = "gate-verdict"  # the gate App's id and key: the only way to set the required status
ENVIRONMENTS = ("dev", "staging", "prod", "registry", GATE_ENVIRONMENT)  # each deployable from main only
REVIEWED = "prod"
# Pull requests' previews: reviewed before the job gets the preview role (infra/ ci_access.py trusts
# this environment's jobs alone), from any branch: a pull request's job runs at refs/pull/N/merge.
PREVIEW_ENVIRONMENT = "infra-preview"
DEPLOY_BRANCH = "main"
GATE_WORKFLOW = Path(".github/workflows/promotion-gate.yml")
VERDICT_JOB = "verdict"  # sets the required status on the pull request's head commit
GATE_APP_ID_VARIABLE = "GATE_APP_ID"  # read by the verdict job as vars.GATE_APP_ID
# Each app's private key, and the one environment allowed to hold it.
APP_KEYS = (("PROMOTION_APP_PRIVATE_KEY", "registry"), ("GATE_APP_PRIVATE_KEY", GATE_ENVIRONMENT))
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
    head commit (`STATUS_CONTEXT`). No job of the workflow bears that name: its check run would show
    beside the status under the same name, from another app."""
    path = root / GATE_WORKFLOW
    try:
        jobs = YAML(typ="safe").load(path.read_text())["jobs"]
        context = str(jobs[VERDICT_JOB]["env"]["STATUS_CONTEXT"])
        names = {str(job.get("name") or key) for key, job in jobs.items()}
    except (OSError, KeyError, TypeError, AttributeError) as error:
        raise InputError(
            f"{path}: no job {VERDICT_JOB!r} with env STATUS_CONTEXT to require ({error})"
        ) from error
    if context in names:
        raise InputError(f"{path}: a job is named {context!r}, the verdict's STATUS_CONTEXT")
    return context


def protection_body(check: str, *, app_id: int) -> dict[str, Any]:
    """`app_id`: the gate's own App, the only one whose status of that name counts."""
    return {
        "required_status_checks": {
            "strict": True,
            "checks": [{"context": check, "app_id": app_id}],
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


def environment_body(reviewer_ids: Sequence[tuple[str, int]], *, main_only: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "wait_timer": 0,
        "deployment_branch_policy": (
            {"protected_branches": False, "custom_branch_policies": True} if main_only else None
        ),
    }
    if reviewer_ids:
        body["reviewers"] = [{"type": kind, "id": number} for kind, number in reviewer_ids]
        body["prevent_self_review"] = True
    else:
        body["reviewers"] = []
    return body


def apply(
    api: Api, repository: str, *, reviewers: Sequence[Reviewer], check: str, gate_app_id: int
) -> list[str]:
    """Apply every setting through `api`; returns what was done, one line each."""
    if not reviewers:
        raise InputError("--prod-reviewer: prod needs at least one required reviewer")
    if gate_app_id <= 0:
        raise InputError(f"--gate-app-id {gate_app_id}: the gate App's id, a positive number")
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
    protection = protection_body(check, app_id=gate_app_id)
    api("PUT", f"/repos/{repository}/branches/{PROTECTED_BRANCH}/protection", protection)
    done.append(f"branch protection on {PROTECTED_BRANCH}: requires {check!r} from app {gate_app_id}")
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
    named = ", ".join(r.kind + ":" + r.name for r in reviewers)
    done.append(f"environment {REVIEWED}: required reviewers {named}")
    api(
        "PUT",
        f"/repos/{repository}/environments/{PREVIEW_ENVIRONMENT}",
        environment_body(reviewer_ids, main_only=False),
    )
    done.append(f"environment {PREVIEW_ENVIRONMENT}: required reviewers {named}, any branch")
    done.append(
        set_environment_variable(api, repository, GATE_ENVIRONMENT, GATE_APP_ID_VARIABLE, str(gate_app_id))
    )
    api("PUT", f"/repos/{repository}/actions/oidc/customization/sub", oidc_subject_body())
    done.append(f"OIDC subject claim: {':'.join(OIDC_SUBJECT_CLAIMS)}")
    for key, environment in APP_KEYS:
        done.append(keep_app_key_in_environment(api, repository, key=key, environment=environment))
    return done


def set_environment_variable(api: Api, repository: str, environment: str, name: str, value: str) -> str:
    """Create or correct one variable of an environment; an equal one is left alone."""
    base = f"/repos/{repository}/environments/{environment}/variables"
    found = api("GET", f"{base}/{name}", absent_ok=True)
    if found is None:
        api("POST", base, {"name": name, "value": value})
    elif found.get("value") != value:
        api("PATCH", f"{base}/{name}", {"name": name, "value": value})
    return f"environment {environment}: variable {name}={value}"


def oidc_subject_body() -> dict[str, Any]:
    return {"use_default": False, "include_claim_keys": list(OIDC_SUBJECT_CLAIMS)}


def keep_app_key_in_environment(api: Api, repository: str, *, key: str, environment: str) -> str:
    """A repository secret reaches every workflow on every branch; an environment's reaches main's jobs
    there (its deployment branches are main only)."""
    in_environment = api(
        "GET", f"/repos/{repository}/environments/{environment}/secrets/{key}", absent_ok=True
    )
    in_repository = api("GET", f"/repos/{repository}/actions/secrets/{key}", absent_ok=True)
    set_it = f"gh secret set {key} --env {environment} --repo {repository} < app-key.pem"
    if in_repository is not None and in_environment is None:
        raise InputError(f"secret {key}: a repository secret, not yet one of {environment}; {set_it}")
    if in_repository is not None:
        api("DELETE", f"/repos/{repository}/actions/secrets/{key}")
        return f"secret {key}: deleted from the repository; {environment}'s own is the one read"
    if in_environment is None:
        return f"secret {key}: not set yet: {set_it}"
    return f"secret {key}: in {environment} only"


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
        "--gate-app-id",
        type=int,
        required=True,
        help="the id of the gate's GitHub App (its settings page), which alone sets the required status",
    )
    parser.add_argument(
        "--prod-reviewer",
        action="append",
        default=[],
        required=True,
        help="team:<slug> or user:<login>, a required reviewer of prod and infra-preview; repeat for several",
    )
    args = parser.parse_args(argv)
    try:
        if args.repository.count("/") != 1 or not all(args.repository.split("/")):
            raise InputError(f"--repository {args.repository!r}: write ORG/REPO")
        reviewers = [parse_reviewer(text) for text in args.prod_reviewer]
        for line in apply(
            gh_api,
            args.repository,
            reviewers=reviewers,
            check=gate_check_name(project_root()),
            gate_app_id=args.gate_app_id,
        ):
            print(line)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
