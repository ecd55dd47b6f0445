"""Each CrossGuard rule holds on every mocked stack, and catches a deliberately bad resource.

Every stack's roles (CI, Pod Identity, IRSA) and inline policies go through the trust and
wildcard rules in the first test; the second feeds each rule a resource it must refuse.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, PolicyResourceOptions, ResourceValidationArgs

from modelops_infra.manifests.deploy_policy import boundary_document
from modelops_policies import (
    POLICIES,
    STACK_POLICIES,
    aws_rules,
    ci_trust_rules,
    enforcement_for,
    kubernetes_rules,
)
from tests.infra.conftest import STACKS
from tests.policies.stack_args import from_declared, violations


def _args(type_: str, props: dict[str, Any], *, stack: str = "prod") -> ResourceValidationArgs:
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,
        additional_secret_outputs=[],
    )
    return ResourceValidationArgs(
        type_, props, f"urn:pulumi:{stack}::p::{type_}::r", "r", options, None, {"stack": stack}
    )


def _violations(policy_check, args: ResourceValidationArgs) -> list[str]:
    found: list[str] = []
    policy_check(args, lambda message, urn=None: found.append(message))
    return found


@pytest.mark.parametrize("name", STACKS)
def test_every_policy_holds_for_every_stack(stacks, name):
    failures = []
    for resource in stacks[name].resources:
        args = _args(resource.type, resource.inputs, stack=name)
        for policy in POLICIES:
            policy.validate(
                args,
                lambda message, urn=None, p=policy, r=resource: failures.append(
                    f"{p.name} {r.name}: {message}"
                ),
            )
    assert failures == []


BAD = [
    (
        aws_rules.rds_private_and_encrypted,
        "aws:rds/instance:Instance",
        {"publiclyAccessible": True, "storageEncrypted": True},
    ),
    (aws_rules.rds_private_and_encrypted, "aws:rds/instance:Instance", {}),  # AWS default: unencrypted
    (
        aws_rules.s3_public_access_blocked,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        {"blockPublicAcls": True},
    ),
    (
        aws_rules.s3_encrypted,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        {"rules": [{}]},
    ),
    (aws_rules.eks_endpoint_private, "aws:eks/cluster:Cluster", {"vpcConfig": {}}),  # absent = public
    (
        aws_rules.eks_endpoint_private,
        "aws:eks/cluster:Cluster",
        {"vpcConfig": {"endpointPublicAccess": True}},
    ),
    (aws_rules.imdsv2_required, "aws:ec2/launchTemplate:LaunchTemplate", {}),
    (
        aws_rules.imdsv2_required,
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}},
    ),
    (
        aws_rules.no_admin_ports_open_to_world,
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]},
    ),
    (
        aws_rules.no_admin_ports_open_to_world,
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]},
    ),
    (kubernetes_rules.helm_release_pinned, "kubernetes:helm.sh/v3:Release", {"chart": "argo-cd"}),
    (
        kubernetes_rules.helm_release_pinned,
        "kubernetes:helm.sh/v3:Release",
        {"chart": "argo-cd", "version": "9.x"},
    ),
    (
        kubernetes_rules.helm_release_pinned,
        "kubernetes:helm.sh/v3:Release",
        {"chart": "argo-cd", "version": ">=9.5.0"},
    ),
]


def _trust(conditions: dict[str, Any]) -> dict[str, Any]:
    statement = {
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn"},
        "Condition": conditions,
    }
    return {"assumeRolePolicy": json.dumps({"Statement": [statement]})}


issuer = "token.actions.githubusercontent.com"
BAD += [
    (
        aws_rules.oidc_trust_without_wildcards,
        "aws:iam/role:Role",
        _trust({"StringLike": {f"{issuer}:sub": "repo:o/r:*"}}),
    ),
    (
        aws_rules.oidc_trust_without_wildcards,
        "aws:iam/role:Role",
        _trust({"StringEquals": {f"{issuer}:sub": "repo:o/*", f"{issuer}:aud": "sts.amazonaws.com"}}),
    ),
    (
        aws_rules.oidc_trust_without_wildcards,
        "aws:iam/role:Role",
        _trust({"StringEquals": {f"{issuer}:sub": "repo:o/r:pull_request"}}),
    ),
]


def _service_trust(statement: dict[str, Any]) -> dict[str, Any]:
    base = {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}}
    return {"assumeRolePolicy": json.dumps({"Statement": [{**base, **statement}]})}


PINNED_TAGS = {
    "aws:RequestTag/eks-cluster-name": "modelops-prod",
    "aws:RequestTag/kubernetes-namespace": "models-prod",
    "aws:RequestTag/kubernetes-service-account": ["credit-risk"],
}
POD_IDENTITY = ["sts:AssumeRole", "sts:TagSession"]
ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
BAD += [
    # Anyone at all, or any principal of a kind.
    (aws_rules.trust_without_wildcards, ROLE, _service_trust({"Principal": "*", "Action": "sts:AssumeRole"})),
    (
        aws_rules.trust_without_wildcards,
        ROLE,
        _service_trust({"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
    ),
    (aws_rules.trust_without_wildcards, ROLE, _service_trust({"Action": "sts:*"})),
    (
        aws_rules.trust_without_wildcards,
        ROLE,
        _service_trust(
            {
                "Action": POD_IDENTITY,
                "Condition": {"StringLike": {"aws:RequestTag/kubernetes-namespace": "models-*"}},
            }
        ),
    ),
    (
        aws_rules.trust_without_wildcards,
        ROLE,
        _service_trust(
            {
                "Action": POD_IDENTITY,
                "Condition": {
                    "StringEquals": {**PINNED_TAGS, "aws:RequestTag/kubernetes-service-account": ["*"]}
                },
            }
        ),
    ),
    # Pod Identity trust that any association (any cluster, namespace or account) could use.
    (aws_rules.pod_identity_trust_pinned, ROLE, _service_trust({"Action": POD_IDENTITY})),
    (
        aws_rules.pod_identity_trust_pinned,
        ROLE,
        _service_trust(
            {
                "Action": POD_IDENTITY,
                "Condition": {"StringEquals": {k: v for k, v in PINNED_TAGS.items() if "namespace" not in k}},
            }
        ),
    ),
    (
        aws_rules.pod_identity_trust_pinned,
        ROLE,
        _service_trust(
            {"Action": [*POD_IDENTITY, "sts:SetSourceIdentity"], "Condition": {"StringEquals": PINNED_TAGS}}
        ),
    ),
    (
        aws_rules.role_policy_without_wildcard_actions,
        ROLE_POLICY,
        {
            "policy": json.dumps(
                {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"}]}
            )
        },
    ),
    (
        aws_rules.role_policy_without_wildcard_actions,
        ROLE_POLICY,
        {"policy": json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})},
    ),
]


# --- least privilege (ci_trust_rules): GitHub roles are not administrators; roles are bounded ----

BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/modelops/boundary/modelops-prod-boundary"
REPO = "example-org/modelops-platform"


def _github_trust(sub: str, refs: list[str]) -> str:
    equals = {f"{issuer}:sub": sub, f"{issuer}:aud": "sts.amazonaws.com", f"{issuer}:job_workflow_ref": refs}
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": equals},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


DEPLOY_TRUST = _github_trust(
    f"repo:{REPO}:environment:prod", [f"{REPO}/.github/workflows/infra.yml@refs/heads/main"]
)
UNBOUNDED = {ci_trust_rules.UNBOUNDED_TAG: ci_trust_rules.UNBOUNDED_VALUE}
BAD += [
    # A role without a boundary, or with one that is not the stack's.
    (ci_trust_rules.roles_carry_permissions_boundary, ROLE, _service_trust({"Action": POD_IDENTITY})),
    (
        ci_trust_rules.roles_carry_permissions_boundary,
        ROLE,
        {
            **_service_trust({"Action": POD_IDENTITY}),
            "permissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess",
        },
    ),
    (
        ci_trust_rules.roles_carry_permissions_boundary,
        ROLE,
        {
            **_service_trust({"Action": POD_IDENTITY}),
            "permissionsBoundary": BOUNDARY_ARN.replace("prod", "dev"),
        },
    ),
    # The deploy role's exemption claimed by another role: a workload, or another workflow's role.
    (
        ci_trust_rules.roles_carry_permissions_boundary,
        ROLE,
        {**_service_trust({"Action": POD_IDENTITY}), "tags": UNBOUNDED},
    ),
    (
        ci_trust_rules.roles_carry_permissions_boundary,
        ROLE,
        {
            "assumeRolePolicy": _github_trust(
                f"repo:{REPO}:environment:prod",
                [
                    f"{REPO}/.github/workflows/infra.yml@refs/heads/main",
                    f"{REPO}/.github/workflows/x.yml@refs/heads/main",
                ],
            ),
            "tags": UNBOUNDED,
        },
    ),
    (ci_trust_rules.roles_carry_permissions_boundary, ROLE, {"assumeRolePolicy": DEPLOY_TRUST}),  # unmarked
    # The wildcard rule's exemption for a boundary, claimed by a policy that does not deny IAM.
    (
        aws_rules.role_policy_without_wildcard_actions,
        "aws:iam/policy:Policy",
        {
            "path": "/modelops/boundary/",
            "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}),
        },
    ),
]


def test_pinned_pod_identity_trust_and_listed_actions_pass():
    trust = _service_trust({"Action": POD_IDENTITY, "Condition": {"StringEquals": PINNED_TAGS}})
    for check in (aws_rules.trust_without_wildcards, aws_rules.pod_identity_trust_pinned):
        assert not _violations(check, _args(ROLE, trust))
    listed = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}
    policy = {"policy": json.dumps({"Statement": [listed]})}
    assert not _violations(aws_rules.role_policy_without_wildcard_actions, _args(ROLE_POLICY, policy))


@pytest.mark.parametrize(
    ("check", "type_", "props"), BAD, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(BAD)]
)
def test_a_bad_resource_is_caught(check, type_, props):
    assert _violations(check, _args(type_, props, stack="prod"))


def test_prod_databases_must_be_multi_az_and_protected_but_dev_may_not_be():
    single = {"multiAz": False, "deletionProtection": False, "storageEncrypted": True}
    resilient = {"multiAz": True, "deletionProtection": True, "storageEncrypted": True}
    rds = "aws:rds/instance:Instance"
    assert len(_violations(aws_rules.rds_resilient_in_prod, _args(rds, single, stack="prod"))) == 2
    assert _violations(aws_rules.rds_resilient_in_prod, _args(rds, {}, stack="prod"))  # AWS default: neither
    assert not _violations(aws_rules.rds_resilient_in_prod, _args(rds, resilient, stack="prod"))
    assert not _violations(aws_rules.rds_resilient_in_prod, _args(rds, single, stack="dev"))


def test_a_public_endpoint_is_tolerated_in_dev_only_when_narrowed():
    narrowed = {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}}
    assert not _violations(
        aws_rules.eks_endpoint_private, _args("aws:eks/cluster:Cluster", narrowed, stack="dev")
    )
    assert _violations(
        aws_rules.eks_endpoint_private, _args("aws:eks/cluster:Cluster", narrowed, stack="staging")
    )
    wide = {"vpcConfig": {"endpointPublicAccess": True}}  # absent CIDRs = AWS default 0.0.0.0/0
    assert _violations(aws_rules.eks_endpoint_private, _args("aws:eks/cluster:Cluster", wide, stack="dev"))


def test_the_pack_is_mandatory_in_prod_and_fails_closed():
    assert enforcement_for("prod") is EnforcementLevel.MANDATORY
    assert enforcement_for("staging") is EnforcementLevel.MANDATORY
    assert enforcement_for("") is EnforcementLevel.MANDATORY
    assert enforcement_for("dev") is EnforcementLevel.ADVISORY


def test_the_deploy_role_alone_goes_without_a_boundary_and_the_real_boundary_passes():
    deploy = {"assumeRolePolicy": DEPLOY_TRUST, "tags": UNBOUNDED}
    assert not _violations(ci_trust_rules.roles_carry_permissions_boundary, _args(ROLE, deploy))
    bounded = {**_service_trust({"Action": POD_IDENTITY}), "permissionsBoundary": BOUNDARY_ARN}
    assert not _violations(ci_trust_rules.roles_carry_permissions_boundary, _args(ROLE, bounded))
    boundary = {"path": "/modelops/boundary/", "policy": boundary_document()}
    assert not _violations(
        aws_rules.role_policy_without_wildcard_actions, _args("aws:iam/policy:Policy", boundary)
    )


def _stack_violations(check, declared, name):
    return violations(check, from_declared(declared, name=name))


@pytest.mark.parametrize("name", STACKS)
def test_the_least_privilege_stack_rules_hold_for_every_stack(stacks, name):
    for check in (
        ci_trust_rules.github_roles_not_administrators,
        ci_trust_rules.boundaries_are_the_stacks_and_deny_iam,
    ):
        assert _stack_violations(check, stacks[name].resources, name) == []


def _swap(declared, name, **inputs):
    return [replace(d, inputs={**d.inputs, **inputs}) if d.name == name else d for d in declared]


def test_a_github_role_with_administrator_access_is_caught(stacks):
    declared = stacks["prod"].resources
    attachment = next(
        d for d in declared if d.name == "ci-preview" and d.type.endswith("RolePolicyAttachment")
    )
    admin = _swap(declared, attachment.name, policyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    found = _stack_violations(ci_trust_rules.github_roles_not_administrators, admin, "prod")
    assert found == ["A role GitHub Actions assumes must not hold an administrator managed policy."]
    # The same through its own customer policy allowing '*:*', or a managed ARN on the role itself.
    everything = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*:*", "Resource": "*"}]})
    star = _swap(declared, "ci-deploy-policy-0", policy=everything)
    assert _stack_violations(ci_trust_rules.github_roles_not_administrators, star, "prod")
    inline = _swap(declared, "ci-gate", managedPolicyArns=["arn:aws:iam::aws:policy/IAMFullAccess"])
    assert _stack_violations(ci_trust_rules.github_roles_not_administrators, inline, "prod")


def test_a_boundary_that_lets_iam_through_or_is_granted_is_caught(stacks):
    declared = stacks["prod"].resources
    weak = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    found = _stack_violations(
        ci_trust_rules.boundaries_are_the_stacks_and_deny_iam,
        _swap(declared, "permissions-boundary", policy=weak),
        "prod",
    )
    assert found and all("must deny" in f for f in found)
    # Roles naming a boundary the stack does not create.
    elsewhere = [d for d in declared if d.name != "permissions-boundary"]
    assert _stack_violations(ci_trust_rules.boundaries_are_the_stacks_and_deny_iam, elsewhere, "prod")
    # The boundary attached to a role as a grant (its per-service allows would then grant).
    granted = [
        replace(d, inputs={**d.inputs, "policyArn": "arn:aws:iam::123456789012:permissions-boundary"})
        if d.type.endswith("RolePolicyAttachment") and d.name == "ci-preview"
        else d
        for d in declared
    ]
    found = _stack_violations(ci_trust_rules.boundaries_are_the_stacks_and_deny_iam, granted, "prod")
    assert found == ["A permissions boundary must never be attached as a grant."]


def test_the_least_privilege_rules_are_in_the_pack():
    assert "roles-carry-permissions-boundary" in {p.name for p in POLICIES}
    stack_rules = {p.name for p in STACK_POLICIES}
    assert {"github-roles-not-administrators", "boundaries-deny-iam-administration"} <= stack_rules
