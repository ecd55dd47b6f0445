"""The CrossGuard rule that a role GitHub Actions assumes on main pins the environment AND main's workflow.

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
INFRA_ON_MAIN = f"{REPO}/.github/workflows/infra.yml@refs/heads/main"


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


def _github(sub: str, refs: Any = None) -> dict[str, Any]:
    equals: dict[str, Any] = {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": "sts.amazonaws.com"}
    if refs is not None:
        equals[f"{ISSUER}:job_workflow_ref"] = refs
    return {"StringEquals": equals}


def test_the_rule_is_in_the_pack():
    assert "github-trust-pins-main-workflow" in {policy.name for policy in POLICIES}


@pytest.mark.parametrize(
    "conditions",
    [
        _github(f"repo:{REPO}:environment:prod", [INFRA_ON_MAIN]),
        _github(
            f"repo:{REPO}:environment:registry",
            [
                f"{REPO}/.github/workflows/record.yml@refs/heads/main",
                f"{REPO}/.github/workflows/retrain.yml@refs/heads/main",
            ],
        ),
        _github(f"repo:{REPO}:ref:refs/heads/main", INFRA_ON_MAIN),  # a single value, not a list
        _github(f"repo:{REPO}:pull_request"),  # read-only pull-request roles: sub alone
        {"StringEquals": {"oidc.eks.eu-west-1.amazonaws.com/id/X:sub": "system:serviceaccount:a:b"}},  # IRSA
    ],
    ids=["environment", "several-workflows", "main-ref", "pull-request", "irsa"],
)
def test_trusts_that_pin_the_environment_and_mains_workflow_pass(conditions):
    assert _violations(conditions) == []


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        # The deploy role as it was: any workflow file naming the environment got administrator rights.
        (_github(f"repo:{REPO}:environment:prod"), "not sub alone"),
        (_github(f"repo:{REPO}:environment:prod", []), "not sub alone"),
        (_github(f"repo:{REPO}:environment:prod", [f"{REPO}/.github/workflows/infra.yml@refs/heads/dev"]),
         "at refs/heads/main"),
        (_github(f"repo:{REPO}:environment:prod", [f"{REPO}/.github/workflows/infra.yml@refs/pull/7/merge"]),
         "at refs/heads/main"),
        (_github(f"repo:{REPO}:environment:prod", ["other/fork/.github/workflows/infra.yml@refs/heads/main"]),
         "at refs/heads/main"),
        (_github(f"repo:{REPO}:environment:prod", [INFRA_ON_MAIN, f"{REPO}/x.yml@refs/heads/main"]),
         "at refs/heads/main"),
        (_github(f"repo:{REPO}:ref:refs/heads/feature", [INFRA_ON_MAIN]), "not 'ref:refs/heads/feature'"),
        (_github(f"repo:{REPO}:workflow_dispatch", [INFRA_ON_MAIN]), "an environment or refs/heads/main"),
        (_github("repo:example-org/*:environment:prod", [INFRA_ON_MAIN]), "must pin sub"),
        ({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}, "must pin sub"),
    ],
    ids=["sub-alone", "empty-refs", "other-branch", "pull-ref", "other-repository", "one-bad-of-two",
         "feature-ref-sub", "event-sub", "wildcard-sub", "no-sub"],
)  # fmt: skip
def test_a_trust_that_gets_around_it_is_caught(conditions, message):
    violations = _violations(conditions)
    assert violations, conditions
    assert any(message in violation for violation in violations), violations


def test_a_role_for_another_action_is_not_its_concern():
    assert _violations(_github(f"repo:{REPO}:environment:prod"), action="sts:AssumeRole") == []
