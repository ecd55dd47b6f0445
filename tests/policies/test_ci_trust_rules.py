"""The CrossGuard rule that a role GitHub Actions assumes pins, through `sub`, the workflow file and its ref.

Every mocked stack's roles go through it in tests/infra/test_policies.py (the whole pack); here it
meets the trusts someone getting around it would write.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import PolicyResourceOptions, ResourceValidationArgs

from modelops_policies import POLICIES
from modelops_policies.ci_trust_rules import github_trust_pins_main_workflow

ISSUER = "token.actions.githubusercontent.com"
REPO = "example-org/modelops-platform"
PREVIEW = "environment:infra-preview"  # the reviewed previews' context
MERGE = "refs/pull/*/merge"
MAIN_ONLY = "pull_request jobs at refs/heads/main only"


def _violations(conditions: dict[str, Any], *, action: str = "sts:AssumeRoleWithWebIdentity") -> list[str]:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": "arn"},
        "Action": action,
        "Condition": conditions,
    }
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,
        additional_secret_outputs=[],
    )
    args = ResourceValidationArgs(
        "aws:iam/role:Role",
        {"assumeRolePolicy": json.dumps({"Statement": [statement]})},
        "urn:pulumi:prod::p::aws:iam/role:Role::r",
        "r",
        options,
        None,
        {"stack": "prod"},
    )
    found: list[str] = []
    github_trust_pins_main_workflow(args, lambda message, urn=None: found.append(message))
    return found


def _sub(context: str, file: str = "infra.yml", ref: str = "refs/heads/main", *, repo: str = REPO) -> str:
    return f"repo:{REPO}:{context}:job_workflow_ref:{repo}/.github/workflows/{file}@{ref}"


def _github(sub: Any = None, *, like: Any = None, refs: Any = None) -> dict[str, Any]:
    conditions: dict[str, Any] = {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}
    if sub is not None:
        conditions["StringEquals"][f"{ISSUER}:sub"] = sub
    if like is not None:
        conditions["StringLike"] = {f"{ISSUER}:sub": like}
    if refs is not None:
        conditions["StringEquals"][f"{ISSUER}:job_workflow_ref"] = refs
    return conditions


def test_the_rule_is_in_the_pack():
    assert "github-trust-pins-main-workflow" in {policy.name for policy in POLICIES}


@pytest.mark.parametrize(
    "conditions",
    [
        _github(_sub("environment:prod")),
        _github([_sub("environment:registry", "record.yml"), _sub("environment:registry", "retrain.yml")]),
        _github(_sub("ref:refs/heads/main")),
        _github(_sub("pull_request", "promotion-gate.yml")),  # pull_request_target: main's file
        # A pull request's own workflow file, once a reviewer let its run into infra-preview.
        _github(like=_sub("environment:infra-preview", "infra-preview.yml", "refs/pull/*/merge")),
        {"StringEquals": {"oidc.eks.eu-west-1.amazonaws.com/id/X:sub": "system:serviceaccount:a:b"}},  # IRSA
    ],
    ids=["environment", "several-workflows", "main-ref", "pull-request-target", "reviewed-preview", "irsa"],
)
def test_trusts_that_pin_the_workflow_file_and_its_ref_pass(conditions):
    assert _violations(conditions) == []


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        # The default sub names no workflow file: any file naming the environment would get the role.
        (_github(f"repo:{REPO}:environment:prod"), "is not repo:ORG/REPO"),
        (_github(f"repo:{REPO}:pull_request"), "is not repo:ORG/REPO"),
        # The claim AWS never reads: the role could not be assumed at all.
        (_github(_sub("environment:prod"), refs=[f"{REPO}/.github/workflows/infra.yml@refs/heads/main"]),
         "does not read job_workflow_ref"),
        (_github(_sub("environment:prod", ref="refs/heads/dev")), "at refs/heads/main only"),
        (_github(_sub("environment:prod", ref="refs/pull/7/merge")), "at refs/heads/main only"),
        (_github(_sub("environment:prod", repo="other/fork")), "another repository's workflow file"),
        (_github([_sub("environment:prod"), f"repo:{REPO}:environment:prod"]), "is not repo:ORG/REPO"),
        (_github(_sub("ref:refs/heads/feature")), "is not repo:ORG/REPO"),
        (_github(_sub("workflow_dispatch")), "is not repo:ORG/REPO"),
        (_github(like=_sub("environment:prod", ref=MERGE)), f"only in {PREVIEW}"),
        (
            _github(_sub(PREVIEW, "infra-preview.yml", MERGE)),
            "matched with StringLike",
        ),
        (_github(like=_sub(PREVIEW, "*.yml", MERGE)), "is not repo:ORG/REPO"),
        (_github(like=_sub("environment:*")), "is not repo:ORG/REPO"),
        (
            _github(like=_sub(PREVIEW, "infra-preview.yml", "refs/*")),
            "other than the pull request",
        ),
        # Any pull request's own workflow file, unreviewed: its author rewrites the steps.
        (_github(like=_sub("pull_request", "infra-preview.yml", MERGE)), f"only in {PREVIEW}"),
        (_github(_sub("pull_request", "infra-preview.yml", "refs/pull/7/merge")), MAIN_ONLY),
        # pull_request at another branch: that branch's copy of the file, which anyone with write pushes.
        (_github(_sub("pull_request", "promotion-gate.yml", "refs/heads/release")), MAIN_ONLY),
        # The reviewed environment is for pull requests' previews, not for a branch's files.
        (_github(_sub(PREVIEW, "infra-preview.yml")), f"{PREVIEW} only at {MERGE}"),
        (_github(like=_sub("environment:prod")), "match it with StringEquals"),
        (_github("repo:example-org/*:environment:prod"), "is not repo:ORG/REPO"),
        ({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}, "must pin sub"),
    ],
    ids=["default-environment-sub", "default-pull-request-sub", "unread-claim", "other-branch", "pull-ref",
         "other-repository", "one-bad-of-two", "feature-ref", "event-sub", "pull-pattern-in-environment",
         "pattern-as-exact", "any-file", "any-environment", "any-ref", "unreviewed-pull-request",
         "unreviewed-pull-request-exact", "pull-request-at-another-branch", "preview-environment-at-main",
         "exact-as-pattern", "wildcard-repo", "no-sub"],
)  # fmt: skip
def test_a_trust_that_gets_around_it_is_caught(conditions, message):
    violations = _violations(conditions)
    assert violations, conditions
    assert any(message in violation for violation in violations), violations


def test_a_role_for_another_action_is_not_its_concern():
    assert _violations(_github(f"repo:{REPO}:environment:prod"), action="sts:AssumeRole") == []


def test_the_subjects_infra_builds_are_the_ones_the_rule_accepts():
    from modelops_infra.components.ci_access import subjects
    from modelops_policies.github_subjects import subject_problem

    for kind in ("preview", "deploy", "gate", "retrain"):
        for value in subjects(REPO, kind, "prod"):
            assert subject_problem(value, pattern="*" in value) is None, value


def test_infra_and_the_rule_name_the_same_refs_and_preview_environment():
    """Two packages (the policy pack runs on its own): the names they share, held equal here."""
    from modelops.github.repository_settings import PREVIEW_ENVIRONMENT
    from modelops_infra.components import ci_access
    from modelops_policies import github_subjects

    assert ci_access.MAIN_REF == github_subjects.MAIN_REF
    assert ci_access.PULL_REQUEST_REF == github_subjects.PULL_REQUEST_REF
    assert ci_access.PREVIEW_ENVIRONMENT == github_subjects.PREVIEW_ENVIRONMENT == PREVIEW_ENVIRONMENT
