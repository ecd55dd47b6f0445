"""Each CrossGuard rule holds on every mocked stack, and catches a deliberately bad resource.

Every stack's roles (CI, Pod Identity, IRSA) and inline policies go through the trust and
wildcard rules in the first test; the second feeds each rule a resource it must refuse.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, PolicyResourceOptions, ResourceValidationArgs

from modelops_policies import POLICIES, aws_rules, enforcement_for, kubernetes_rules, runner_rules
from tests.infra.conftest import STACKS


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


# --- self-hosted runners (runner_rules.py) -------------------------------------------------------

RELEASE = "kubernetes:helm.sh/v3:Release"
_SCALE_SET = "oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set"
_RUNNER_POD = {
    "spec": {"containers": [{"name": "runner", "image": "ghcr.io/actions/actions-runner:2.335.1"}]}
}
BAD_RUNNERS = [
    ("unpinned", RELEASE, {"chart": _SCALE_SET, "values": {"template": _RUNNER_POD}}),
    ("a range", RELEASE, {"chart": "gha-runner-scale-set", "version": "~0.14", "values": {}}),
    (
        "unpinned controller",
        RELEASE,
        {"chart": f"{_SCALE_SET}-controller", "version": "latest", "values": {}},
    ),
    (
        "dind",
        RELEASE,
        {"chart": _SCALE_SET, "version": "0.14.2", "values": {"containerMode": {"type": "dind"}}},
    ),
    (
        "a dind sidecar",
        RELEASE,
        {
            "chart": _SCALE_SET,
            "version": "0.14.2",
            "values": {"template": {"spec": {"initContainers": [{"name": "d", "image": "docker:28-dind"}]}}},
        },
    ),
    (
        "privileged",
        RELEASE,
        {
            "chart": _SCALE_SET,
            "version": "0.14.2",
            "values": {
                "template": {
                    "spec": {"containers": [{"name": "runner", "securityContext": {"privileged": True}}]}
                }
            },
        },
    ),
    (
        "escalation",
        RELEASE,
        {
            "chart": _SCALE_SET,
            "version": "0.14.2",
            "values": {
                "template": {
                    "spec": {"containers": [{"securityContext": {"allowPrivilegeEscalation": True}}]}
                }
            },
        },
    ),
    (
        "values it cannot read",
        RELEASE,
        {"chart": _SCALE_SET, "version": "0.14.2", "valueYamlFiles": ["v.yaml"]},
    ),
    (
        "the scale set without the chart",
        "kubernetes:actions.github.com/v1alpha1:AutoscalingRunnerSet",
        {"spec": {"template": {"spec": {"containers": [{"securityContext": {"privileged": "true"}}]}}}},
    ),
    ("legacy ARC", "kubernetes:actions.summerwind.dev/v1alpha1:RunnerDeployment", {"spec": {}}),
]


@pytest.mark.parametrize(("type_", "props"), [b[1:] for b in BAD_RUNNERS], ids=[b[0] for b in BAD_RUNNERS])
def test_a_privileged_dind_or_unpinned_runner_scale_set_is_caught(type_, props):
    assert _violations(runner_rules.runner_scale_set_hardened, _args(type_, props, stack="prod"))


def test_a_pinned_unprivileged_scale_set_and_other_charts_pass():
    hardened = {"containers": [{"securityContext": {"privileged": False, "allowPrivilegeEscalation": False}}]}
    good = {"chart": _SCALE_SET, "version": "0.14.2", "values": {"template": {"spec": hardened}}}
    assert not _violations(runner_rules.runner_scale_set_hardened, _args(RELEASE, good))
    # Not a runner: another chart's privileged values are other rules' business.
    other = {"chart": "argo-cd", "version": "9.5.4", "values": {"x": {"privileged": True}}}
    assert not _violations(runner_rules.runner_scale_set_hardened, _args(RELEASE, other))
