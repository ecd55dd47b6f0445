"""Rules for the roles GitHub Actions assumes: what a workflow must be to get credentials.

A GitHub environment's `sub` alone lets any workflow file of the repository that names the
environment assume the role, from any branch the environment admits. A role that acts on main
therefore also pins `job_workflow_ref` to workflow files at `refs/heads/main`. Pull-request roles
only read and run the pull request's merge ref, which no exact value can name: they are left to
`oidc-trust-no-wildcards` (exact `sub` and `aud`).

Least privilege: no GitHub-trusted role holds an administrator managed policy or a `*` grant
(`github-roles-not-administrators`); every role carries the stack's permissions boundary, the deploy
role alone excepted, which must say so by a tag and be main's infra workflow's role
(`roles-carry-permissions-boundary`); each boundary is the stack's, denies IAM administration, and is
never attached as a grant (`boundaries-deny-iam-administration`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from modelops_policies.aws_rules import _stack, _statements
from modelops_policies.boundary_policy import BOUNDARY_PATH, missing_denies

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


# --- least privilege: what a GitHub-trusted role may hold, and the boundary on every other role ---

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
# AWS managed policies that hand over the account (PowerUser: everything but IAM; IAMFullAccess: the
# way to everything).
ADMIN_MANAGED = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
# infra: boundary.UNBOUNDED_TAG / UNBOUNDED_VALUE, and the deploy role's one workflow.
UNBOUNDED_TAG = "modelops.io/permissions-boundary"
UNBOUNDED_VALUE = "none-deploy-role"
DEPLOY_WORKFLOW = "infra.yml"
_BOUNDARY_ARN = re.compile(
    r"^arn:aws:iam::\d{12}:policy/modelops/boundary/modelops-(?P<stack>[a-z0-9-]+)-boundary$"
)


def _github_trusted(role: Any) -> bool:
    """A role GitHub's OIDC provider may assume (by the principal or the issuer's condition keys)."""
    for statement in _statements(role.get("assumeRolePolicy")):
        principal = statement.get("Principal")
        federated = principal.get("Federated") if isinstance(principal, dict) else None
        keys = [
            k
            for pairs in (statement.get("Condition") or {}).values()
            if isinstance(pairs, dict)
            for k in pairs
        ]
        if GITHUB_ISSUER in str(federated) or any(k.startswith(f"{GITHUB_ISSUER}:") for k in keys):
            return True
    return False


def _allows_everything(policy: Any) -> bool:
    for statement in _statements(policy):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        actions = statement.get("Action")
        listed = actions if isinstance(actions, list) else [actions]
        if "NotAction" in statement or any(str(a) in ("*", "*:*", "iam:*") for a in listed):
            return True
    return False


def _is_admin_arn(arn: Any) -> bool:
    return (
        isinstance(arn, str)
        and arn.startswith("arn:aws:iam::aws:policy/")
        and arn.rsplit("/", 1)[-1] in ADMIN_MANAGED
    )


def _names(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """`resource.prop` is `target`: the engine's dependency record, or its physical name, ARN or id."""
    if any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, [])):
        return True
    value = resource.props.get(prop)
    # The mocks' outputs give a role's logical name as its name.
    known = {target.props.get("name"), target.props.get("arn"), target.props.get("id"), target.name} - {None}
    return value in known


def github_roles_not_administrators(args: StackValidationArgs, report: ReportViolation) -> None:
    """No role GitHub Actions can assume holds AdministratorAccess (or the like) or a `*` grant."""
    resources = list(args.resources)
    policies = [r for r in resources if r.resource_type == POLICY]
    for role in (r for r in resources if r.resource_type == ROLE and _github_trusted(r.props)):
        managed = list(role.props.get("managedPolicyArns") or [])
        documents = [p.get("policy") for p in role.props.get("inlinePolicies") or [] if isinstance(p, dict)]
        documents += [
            r.props.get("policy")
            for r in resources
            if r.resource_type == ROLE_POLICY and _names(r, "role", role)
        ]
        for attachment in (r for r in resources if r.resource_type == ATTACHMENT and _names(r, "role", role)):
            managed.append(attachment.props.get("policyArn"))
            documents += [p.props.get("policy") for p in policies if _names(attachment, "policyArn", p)]
        if any(_is_admin_arn(arn) for arn in managed):
            report("A role GitHub Actions assumes must not hold an administrator managed policy.", role.urn)
        if any(_allows_everything(document) for document in documents):
            report("A role GitHub Actions assumes must not be allowed '*', '*:*' or 'iam:*'.", role.urn)


def _is_deploy_role(props: Mapping[str, Any]) -> bool:
    """The one role that creates the bounded roles: main's infra workflow in a GitHub environment."""
    statements = _statements(props.get("assumeRolePolicy"))
    if len(statements) != 1:
        return False
    equals = (statements[0].get("Condition") or {}).get("StringEquals") or {}
    subject = _SUBJECT.match(str(equals.get(f"{GITHUB_ISSUER}:sub", "")))
    refs = equals.get(f"{GITHUB_ISSUER}:job_workflow_ref")
    refs = refs if isinstance(refs, list) else [refs]
    if subject is None or not subject.group("context").startswith("environment:"):
        return False
    expected = f"{subject.group('repository')}/.github/workflows/{DEPLOY_WORKFLOW}@refs/heads/main"
    return refs == [expected]


def roles_carry_permissions_boundary(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every role carries the stack's boundary; the deploy role alone may go without, and says so."""
    if args.resource_type != ROLE:
        return
    tags = args.props.get("tags") or {}
    marked = tags.get(UNBOUNDED_TAG) == UNBOUNDED_VALUE
    boundary = args.props.get("permissionsBoundary")
    if not boundary:
        if not (marked and _is_deploy_role(args.props)):
            report("An IAM role must carry the stack's permissions boundary (permissionsBoundary).", None)
        return
    if marked:
        report(f"Only the deploy role may be tagged {UNBOUNDED_TAG}; this one carries a boundary.", None)
    match = _BOUNDARY_ARN.match(str(boundary))
    stack = _stack(args)
    if match is None or (stack and match.group("stack") != stack):
        report(
            f"The role's boundary must be modelops-{stack or '<stack>'}-boundary under /modelops/boundary/.",
            None,
        )


def boundaries_are_the_stacks_and_deny_iam(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each boundary a role names is a policy of the stack that denies IAM administration, and no
    boundary is ever attached as a grant."""
    resources = list(args.resources)
    boundaries = [r for r in resources if r.resource_type == POLICY and r.props.get("path") == BOUNDARY_PATH]
    for role in (r for r in resources if r.resource_type == ROLE and r.props.get("permissionsBoundary")):
        arn = str(role.props["permissionsBoundary"])
        named = [b for b in boundaries if arn.endswith(f":policy{BOUNDARY_PATH}{b.props.get('name')}")]
        if not named:
            report("The role's permissions boundary is not a policy this stack creates.", role.urn)
        for policy in named:
            if missing := missing_denies(policy.props.get("policy")):
                report(f"The boundary must deny {', '.join(missing)} on '*' without condition.", policy.urn)
    for attachment in (r for r in resources if r.resource_type == ATTACHMENT):
        if any(_names(attachment, "policyArn", b) for b in boundaries):
            report("A permissions boundary must never be attached as a grant.", attachment.urn)
