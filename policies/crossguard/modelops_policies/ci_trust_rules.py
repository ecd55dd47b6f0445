"""Rules for the roles GitHub Actions assumes: what a workflow must be to get credentials.

A GitHub environment's `sub` alone lets any workflow file of the repository that names the
environment assume the role, from any branch the environment admits. A role that acts on main
therefore also pins `job_workflow_ref` to workflow files at `refs/heads/main`. Pull-request roles
only read and run the pull request's merge ref, which no exact value can name: they are left to
`oidc-trust-no-wildcards` (exact `sub` and `aud`).
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs

from modelops_policies.aws_rules import _statements

GITHUB_ISSUER = "token.actions.githubusercontent.com"
_SUBJECT = re.compile(r"^repo:(?P<repository>[\w.-]+/[\w.-]+):(?P<context>.+)$")
_ON_MAIN = ("environment:", "ref:refs/heads/main")


def _main_workflow(repository: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(repository)}/\.github/workflows/[\w.-]+\.ya?ml@refs/heads/main$")


def github_trust_pins_main_workflow(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:iam/role:Role":
        return
    for statement in _statements(args.props.get("assumeRolePolicy")):
        if "sts:AssumeRoleWithWebIdentity" not in str(statement.get("Action")):
            continue
        equals = (statement.get("Condition") or {}).get("StringEquals") or {}
        if not any(key.startswith(f"{GITHUB_ISSUER}:") for key in equals):
            continue  # another issuer (a cluster's IRSA): not GitHub's
        subject = _SUBJECT.match(str(equals.get(f"{GITHUB_ISSUER}:sub", "")))
        if subject is None:
            report("GitHub trust must pin sub to one repository's environment, ref or pull requests.", None)
            continue
        context = subject.group("context")
        if context == "pull_request":
            continue  # read-only roles; see the module's docstring
        if not context.startswith(_ON_MAIN):
            report(f"GitHub trust must pin sub to an environment or refs/heads/main, not {context!r}.", None)
        refs = equals.get(f"{GITHUB_ISSUER}:job_workflow_ref")
        refs = refs if isinstance(refs, list) else [refs] if refs else []
        pattern = _main_workflow(subject.group("repository"))
        if not refs:
            report("GitHub trust must pin job_workflow_ref to main's workflow files, not sub alone.", None)
        elif not all(isinstance(ref, str) and pattern.match(ref) for ref in refs):
            report(
                "GitHub trust's job_workflow_ref must name this repository's workflow files at "
                "refs/heads/main.",
                None,
            )
