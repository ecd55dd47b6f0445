"""Rules for the roles GitHub Actions assumes: what a workflow must be to get credentials.

A GitHub environment alone lets any workflow file of the repository that names the environment
assume its role, from any branch the environment admits. So every role pins, through `sub`, the
workflow file and the ref its jobs run (github_subjects.py: AWS reads no other GitHub claim, and a
condition on the `job_workflow_ref` key would never be met). Roles that act on main trust files at
`refs/heads/main` exactly; pull-request roles only read, and trust their file at the pull request's
merge ref, the one wildcard allowed.

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
from modelops_policies.github_subjects import GITHUB_ISSUER, MAIN_REF, SUBJECT, subject_problem


def _github_subjects(statement: Mapping[str, Any]) -> list[tuple[str, bool]] | None:
    """The `sub` values a web-identity statement trusts, each with whether it is a pattern; None when
    the statement names no claim of GitHub's issuer (another issuer: a cluster's IRSA)."""
    conditions = statement.get("Condition") or {}
    keys = [k for pairs in conditions.values() if isinstance(pairs, dict) for k in pairs]
    if not any(str(k).startswith(f"{GITHUB_ISSUER}:") for k in keys):
        return None
    found = []
    for operator, pattern in (("StringEquals", False), ("StringLike", True)):
        values = (conditions.get(operator) or {}).get(f"{GITHUB_ISSUER}:sub")
        for value in values if isinstance(values, list) else [values] if values is not None else []:
            found.append((str(value), pattern))
    return found


def github_trust_pins_main_workflow(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:iam/role:Role":
        return
    for statement in _statements(args.props.get("assumeRolePolicy")):
        if "sts:AssumeRoleWithWebIdentity" not in str(statement.get("Action")):
            continue
        subjects = _github_subjects(statement)
        if subjects is None:
            continue
        unread = [
            k
            for pairs in (statement.get("Condition") or {}).values()
            if isinstance(pairs, dict)
            for k in pairs
            if k == f"{GITHUB_ISSUER}:job_workflow_ref"
        ]
        if unread:
            report(
                "AWS does not read job_workflow_ref in a trust policy (the role could never be assumed): "
                "pin the workflow file through sub (repository_settings customizes it).",
                None,
            )
        if not subjects:
            report("GitHub trust must pin sub to this repository's workflow files.", None)
        for value, pattern in subjects:
            if problem := subject_problem(value, pattern=pattern):
                report(f"GitHub trust: {problem}.", None)


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
    subjects = _github_subjects(statements[0]) or []
    if len(subjects) != 1 or subjects[0][1]:
        return False
    match = SUBJECT.match(subjects[0][0])
    return (
        match is not None
        and match["context"].startswith("environment:")
        and match["file"] == DEPLOY_WORKFLOW
        and match["ref"] == MAIN_REF
        and match["workflow_repository"] == match["repository"]
    )


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
