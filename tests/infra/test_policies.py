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
    runner_rules,
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


@pytest.mark.parametrize("name", ["registry", *STACKS])
def test_every_policy_holds_for_every_stack(every_stack, name):
    failures = []
    for resource in every_stack[name].resources:
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


def _github_trust(context: str, files: list[str]) -> str:
    """A GitHub role's trust as ci_access writes it: the workflow files at main, through `sub`."""
    subs = [
        f"repo:{REPO}:{context}:job_workflow_ref:{REPO}/.github/workflows/{f}@refs/heads/main" for f in files
    ]
    equals = {f"{issuer}:sub": subs[0] if len(subs) == 1 else subs, f"{issuer}:aud": "sts.amazonaws.com"}
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": equals},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


DEPLOY_TRUST = _github_trust("environment:prod", ["infra.yml"])
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
            "assumeRolePolicy": _github_trust("environment:prod", ["infra.yml", "x.yml"]),
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
    # The shared registry's database serves prod: held to prod's standard.
    assert len(_violations(aws_rules.rds_resilient_in_prod, _args(rds, single, stack="registry"))) == 2


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


# --- Cross-account reads of the registry bucket (artifact_rules) ---------------------------------
from modelops_infra.manifests import iam  # noqa: E402
from modelops_policies import artifact_rules  # noqa: E402
from tests.infra.conftest import AWS_STACKS  # noqa: E402
from tests.policies.stack_args import resource as policy_resource  # noqa: E402
from tests.policies.stack_args import stack  # noqa: E402

REGISTRY_BUCKET = "arn:aws:s3:::modelops-registry-mlflow-artifacts"
REGISTERED = f"{REGISTRY_BUCKET}/{iam.REGISTERED_MODEL_PREFIX}/*"
ENV_ACCOUNT = {"AWS": ["arn:aws:iam::210000000001:root"]}
LIST_PREFIXES = {"StringLike": {"s3:prefix": iam.REGISTERED_MODEL_LIST_PREFIXES}}
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


def test_the_pack_and_the_policies_name_registered_models_and_readers_alike():
    assert artifact_rules.REGISTERED_MODEL_PREFIX == iam.REGISTERED_MODEL_PREFIX
    assert list(artifact_rules.REGISTERED_MODEL_LIST_PREFIXES) == iam.REGISTERED_MODEL_LIST_PREFIXES
    assert list(artifact_rules.MODEL_READ_ACTIONS) == iam.MODEL_READ_ACTIONS
    assert all(artifact_rules.READER_ROLE_NAME.fullmatch(iam.model_reader_role_name(e)) for e in STACKS)
    names = {p.name for p in POLICIES} | {p.name for p in STACK_POLICIES}
    assert {"bucket-policy-grants-registered-reads-only", "model-reader-never-writes"} <= names


def test_the_registry_bucket_policy_with_its_readers_passes():
    readers = [iam.model_reader_role_arn(f"21000000000{i}", env) for i, env in enumerate(("dev", "prod"))]
    for policy in (iam.artifact_bucket_policy("b", readers=readers), iam.artifact_bucket_policy("b")):
        check = artifact_rules.bucket_policy_grants_registered_reads_only
        assert not _violations(check, _args(BUCKET_POLICY, {"policy": policy}))


def _grant(**statement: Any) -> dict[str, Any]:
    base = {"Effect": "Allow", "Principal": ENV_ACCOUNT, "Action": ["s3:GetObject"], "Resource": REGISTERED}
    return {"policy": json.dumps({"Statement": [{**base, **statement}]})}


def _listing(condition: Any) -> dict[str, Any]:
    return _grant(Action=["s3:ListBucket"], Resource=REGISTRY_BUCKET, Condition=condition)


BAD_GRANTS = {
    "put-on-registered": _grant(Action=["s3:GetObject", "s3:PutObject"]),
    "delete-on-registered": _grant(Action=["s3:DeleteObject"]),
    "wildcard-action": _grant(Action=["s3:Get*"]),  # GetObjectAcl, GetObjectTagging, ...
    "every-key": _grant(Resource=f"{REGISTRY_BUCKET}/*"),
    "run-artifacts": _grant(Resource=f"{REGISTRY_BUCKET}/*/*/artifacts/*"),
    "one-experiment-all": _grant(Resource=f"{REGISTRY_BUCKET}/1/*"),
    "everyone": _grant(Principal="*"),
    "everyone-in-aws": _grant(Principal={"AWS": "*"}),
    "a-service": _grant(Principal={"Service": "logging.s3.amazonaws.com"}),
    "not-action": {
        "policy": json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": ENV_ACCOUNT,
                        "NotAction": "s3:Delete*",
                        "Resource": REGISTERED,
                    }
                ]
            }
        )
    },
    "list-without-prefix": _listing(None),
    "list-any-prefix": _listing({"StringLike": {"s3:prefix": "*"}}),
    "list-if-exists": _listing(
        {"StringLikeIfExists": {"s3:prefix": list(iam.REGISTERED_MODEL_LIST_PREFIXES)}}
    ),
    "list-objects-arn": _grant(Action=["s3:ListBucket"], Resource=REGISTERED, Condition=LIST_PREFIXES),
    "bucket-admin": _grant(Action=["s3:PutBucketPolicy"], Resource=REGISTRY_BUCKET),
}


@pytest.mark.parametrize("props", BAD_GRANTS.values(), ids=BAD_GRANTS.keys())
def test_a_bucket_policy_granting_more_than_registered_reads_is_caught(props):
    assert _violations(artifact_rules.bucket_policy_grants_registered_reads_only, _args(BUCKET_POLICY, props))


def test_listing_limited_to_registered_prefixes_passes():
    check = artifact_rules.bucket_policy_grants_registered_reads_only
    assert not _violations(check, _args(BUCKET_POLICY, _listing(LIST_PREFIXES)))


READER = iam.model_reader_role_name("prod")


def _reader_stack(
    policy: str | None = None, *, name: str = READER, attach: bool = False, inline: str | None = None
):
    role = policy_resource(
        ROLE, "reader", {"name": name, **({"inlinePolicies": [{"policy": inline}]} if inline else {})}
    )
    resources = [role]
    if policy is not None:
        resources.append(policy_resource(ROLE_POLICY, "reader", {"role": name, "policy": policy}))
    if attach:
        attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        resources.append(
            policy_resource(attachment, "reader", {"role": name, "policyArn": "arn:aws:iam::aws:policy/x"})
        )
    return stack(resources)


def _allow(*actions: str) -> str:
    return json.dumps({"Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": REGISTERED}]})


BAD_READERS = {
    "writer-policy": _reader_stack(iam.artifact_access_policy(REGISTRY_BUCKET, write=True)),
    "s3-star": _reader_stack(_allow("s3:*")),
    "put-prefix-wildcard": _reader_stack(_allow("s3:GetObject", "s3:Put*")),
    "object-suffix-wildcard": _reader_stack(_allow("s3:*Object")),
    "delete-version": _reader_stack(_allow("s3:DeleteObjectVersion")),
    "not-action": _reader_stack(
        json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
    ),
    "inline-delete": _reader_stack(inline=_allow("s3:DeleteObject")),
    "managed-attachment": _reader_stack(iam.model_reader_policy(REGISTRY_BUCKET), attach=True),
}


@pytest.mark.parametrize("args", BAD_READERS.values(), ids=BAD_READERS.keys())
def test_a_model_reader_role_that_can_write_or_delete_is_caught(args):
    assert violations(artifact_rules.model_reader_never_writes, args)


def test_only_model_readers_are_held_to_reading():
    reader = _reader_stack(
        iam.model_reader_policy(REGISTRY_BUCKET, kms_key_arn="arn:aws:kms:eu-west-1:1:key/k")
    )
    assert not violations(artifact_rules.model_reader_never_writes, reader)
    writer = _reader_stack(
        iam.artifact_access_policy(REGISTRY_BUCKET, write=True), name="artifacts-job-writer"
    )
    assert not violations(artifact_rules.model_reader_never_writes, writer)


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_stacks_model_reader_passes_and_with_a_writers_policy_is_caught(stacks, name):
    """The reader role and role policy the stack declares, linked as the engine links `role=role.id`
    (under the mocks a role and its policy share a name, hence an id: `from_declared` can't link them)."""
    (role,) = [
        r for r in stacks[name].of_type(ROLE) if r.inputs.get("name") == iam.model_reader_role_name(name)
    ]
    (policy,) = [p for p in stacks[name].of_type(ROLE_POLICY) if p.name == role.name]
    declared_role = policy_resource(ROLE, role.name, role.inputs)

    def linked(document: str) -> Any:
        attached = policy_resource(
            ROLE_POLICY, policy.name, {**policy.inputs, "policy": document}, depends={"role": [declared_role]}
        )
        return stack([declared_role, attached], name=name)

    assert not violations(artifact_rules.model_reader_never_writes, linked(policy.inputs["policy"]))
    writes = iam.artifact_access_policy(REGISTRY_BUCKET, write=True)
    assert violations(artifact_rules.model_reader_never_writes, linked(writes))


# --- The monitors' reads of the runs' datasets (artifact_rules) -----------------------------------
DATASETS = f"{REGISTRY_BUCKET}/{iam.RUN_DATASET_PREFIX}/*"
MONITORS = [iam.model_monitor_role_arn(f"21000000000{i}", env) for i, env in enumerate(("dev", "prod"))]
READERS = [iam.model_reader_role_arn(f"21000000000{i}", env) for i, env in enumerate(("dev", "prod"))]
MONITOR = iam.model_monitor_role_name("prod")


def test_the_pack_and_the_policies_name_run_datasets_and_monitors_alike():
    assert artifact_rules.RUN_DATASET_PREFIX == iam.RUN_DATASET_PREFIX
    assert list(artifact_rules.MONITOR_OBJECT_PREFIXES) == iam.MONITOR_OBJECT_PREFIXES
    assert list(artifact_rules.MONITOR_LIST_PREFIXES) == iam.MONITOR_LIST_PREFIXES
    for environment in STACKS:
        assert artifact_rules.MONITOR_ROLE_NAME.fullmatch(iam.model_monitor_role_name(environment))
        assert not artifact_rules.MONITOR_ROLE_NAME.fullmatch(iam.model_reader_role_name(environment))
        assert not artifact_rules.READER_ROLE_NAME.fullmatch(iam.model_monitor_role_name(environment))


def _monitor_grant(**statement: Any) -> dict[str, Any]:
    base = {
        "Effect": "Allow",
        "Principal": ENV_ACCOUNT,
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": [REGISTERED, DATASETS],
        "Condition": {"StringEquals": {"aws:PrincipalArn": MONITORS}},
    }
    merged = {key: value for key, value in {**base, **statement}.items() if value is not None}
    return {"policy": json.dumps({"Statement": [merged]})}


def _monitor_listing(prefixes: Any, *, principals: Any = MONITORS) -> dict[str, Any]:
    return _monitor_grant(
        Action=["s3:ListBucket"],
        Resource=REGISTRY_BUCKET,
        Condition={"StringEquals": {"aws:PrincipalArn": principals}, "StringLike": {"s3:prefix": prefixes}},
    )


GOOD_MONITOR_GRANTS = {
    "the-registry-policy": {"policy": iam.artifact_bucket_policy("b", readers=READERS, monitors=MONITORS)},
    "narrowed-to-monitors": _monitor_grant(),
    "monitor-roles-as-principal": _monitor_grant(Principal={"AWS": MONITORS}, Condition=None),
    "listing-models-and-datasets": _monitor_listing(iam.MONITOR_LIST_PREFIXES),
}


@pytest.mark.parametrize("props", GOOD_MONITOR_GRANTS.values(), ids=GOOD_MONITOR_GRANTS.keys())
def test_the_monitors_dataset_grant_passes(props):
    check = artifact_rules.bucket_policy_grants_registered_reads_only
    assert not _violations(check, _args(BUCKET_POLICY, props))


BAD_MONITOR_GRANTS = {
    "datasets-to-the-readers": _monitor_grant(Condition={"StringEquals": {"aws:PrincipalArn": READERS}}),
    "datasets-to-readers-and-monitors": _monitor_grant(
        Condition={"StringEquals": {"aws:PrincipalArn": [*READERS, *MONITORS]}}
    ),
    "datasets-to-an-account": _monitor_grant(Condition=None),
    "datasets-to-a-pattern": _monitor_grant(
        Condition={
            "StringEquals": {"aws:PrincipalArn": ["arn:aws:iam::210000000001:role/modelops-*-model-monitor"]}
        }
    ),
    "datasets-narrowed-by-like": _monitor_grant(Condition={"StringLike": {"aws:PrincipalArn": MONITORS}}),
    "datasets-to-another-role": _monitor_grant(
        Condition={
            "StringEquals": {"aws:PrincipalArn": ["arn:aws:iam::210000000001:role/modelops-dev-deploy"]}
        }
    ),
    "monitor-every-key": _monitor_grant(Resource=f"{REGISTRY_BUCKET}/*"),
    "monitor-everything": _monitor_grant(Resource="*"),
    "monitor-run-artifacts": _monitor_grant(Resource=[REGISTERED, f"{REGISTRY_BUCKET}/*/*/artifacts/*"]),
    "monitor-datasets-and-neighbours": _monitor_grant(Resource=f"{REGISTRY_BUCKET}/*/*/artifacts/datasets*"),
    "monitor-put-datasets": _monitor_grant(Action=["s3:GetObject", "s3:PutObject"]),
    "monitor-get-wildcard": _monitor_grant(Action=["s3:Get*"]),
    "monitor-lists-run-artifacts": _monitor_listing(["*/*/artifacts/*"]),
    "monitor-lists-anything": _monitor_listing(["*"]),
    "monitor-lists-datasets-without-slash": _monitor_listing([iam.RUN_DATASET_PREFIX]),
    "reader-lists-datasets": _monitor_listing(iam.MONITOR_LIST_PREFIXES, principals=READERS),
}


@pytest.mark.parametrize("props", BAD_MONITOR_GRANTS.values(), ids=BAD_MONITOR_GRANTS.keys())
def test_a_dataset_grant_wider_than_the_monitors_is_caught(props):
    assert _violations(artifact_rules.bucket_policy_grants_registered_reads_only, _args(BUCKET_POLICY, props))


PAYLOADS = "arn:aws:s3:::modelops-prod-payloads"
BAD_MONITORS = {
    "writer-policy": _reader_stack(iam.artifact_access_policy(REGISTRY_BUCKET, write=True), name=MONITOR),
    "put-on-datasets": _reader_stack(
        json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": DATASETS}]}),
        name=MONITOR,
    ),
    "s3-star": _reader_stack(_allow("s3:*"), name=MONITOR),
    "delete-wildcard": _reader_stack(_allow("s3:GetObject", "s3:Delete*"), name=MONITOR),
    "writes-its-payloads": _reader_stack(iam.artifact_access_policy(PAYLOADS, write=True), name=MONITOR),
    "inline-delete": _reader_stack(inline=_allow("s3:DeleteObjectVersion"), name=MONITOR),
    "managed-attachment": _reader_stack(iam.model_monitor_policy(REGISTRY_BUCKET), name=MONITOR, attach=True),
}


@pytest.mark.parametrize("args", BAD_MONITORS.values(), ids=BAD_MONITORS.keys())
def test_a_monitor_role_that_can_write_or_delete_is_caught(args):
    assert violations(artifact_rules.model_reader_never_writes, args)


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_stacks_monitor_passes_and_with_a_writers_policy_is_caught(stacks, name):
    """The monitor role and both its role policies as the stack declares them, linked as the engine
    links `role=role.id` (see the model reader's test above)."""
    (role,) = [
        r for r in stacks[name].of_type(ROLE) if r.inputs.get("name") == iam.model_monitor_role_name(name)
    ]
    policies = [p for p in stacks[name].of_type(ROLE_POLICY) if p.inputs["role"] == f"{role.name}-id"]
    assert len(policies) == 2  # the registry's bucket and the payloads
    declared_role = policy_resource(ROLE, role.name, role.inputs)

    def linked(documents: list[str]) -> Any:
        attached = [
            policy_resource(ROLE_POLICY, p.name, {**p.inputs, "policy": d}, depends={"role": [declared_role]})
            for p, d in zip(policies, documents, strict=True)
        ]
        return stack([declared_role, *attached], name=name)

    assert not violations(
        artifact_rules.model_reader_never_writes, linked([p.inputs["policy"] for p in policies])
    )
    writes = iam.artifact_access_policy(PAYLOADS, write=True)
    assert violations(
        artifact_rules.model_reader_never_writes, linked([policies[0].inputs["policy"], writes])
    )


# --- the registry's exposure: MLflow over TLS, behind an allow-list (registry_exposure_rules) ---

SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"


def _allow_list(*cidrs: str, default: str = "Deny", target: dict[str, Any] | None = None) -> dict[str, Any]:
    rule = {"name": "clients", "action": "Allow", "principal": {"clientCIDRs": list(cidrs)}}
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "SecurityPolicy",
        "metadata": {"name": "mlflow-allow-list", "namespace": "mlflow"},
        "spec": {
            "targetRefs": [
                target or {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "mlflow"}
            ],
            "authorization": {"defaultAction": default, "rules": [rule]},
        },
    }


@pytest.mark.parametrize(
    "cidrs",
    [["0.0.0.0/0"], ["203.0.113.0/24", "::/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["::ffff:0:0/96"], ["x"]],
)
def test_a_security_policy_allowing_the_internet_is_caught(cidrs):
    from modelops_policies import registry_exposure_rules

    check = registry_exposure_rules.security_policy_allow_list_narrow
    assert _violations(check, _args(SECURITY_POLICY, _allow_list(*cidrs)))
    assert not _violations(check, _args(SECURITY_POLICY, _allow_list("203.0.113.0/24", "198.51.100.7/32")))


def _gateway(*listeners: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "registry", "namespace": "envoy-gateway-system"},
        "spec": {"gatewayClassName": "envoy", "listeners": list(listeners)},
    }


HTTPS_LISTENER = {
    "name": "https",
    "protocol": "HTTPS",
    "port": 443,
    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "registry-tls"}]},
}


def _route_to(backend: dict[str, Any], *, kind: str = "HTTPRoute", parent: dict[str, Any] | None = None):
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": "mlflow", "namespace": "mlflow"},
        "spec": {
            "parentRefs": [parent or {"name": "registry", "namespace": "envoy-gateway-system"}],
            "rules": [{"backendRefs": [backend]}],
        },
    }


def _mlflow_mirrored_by_argocd() -> dict:
    """A route to another service on the registry's Gateway that mirrors every request to MLflow."""
    return {
        **_route_to({"name": "argocd-server", "port": 80}),
        "metadata": {"name": "mirror", "namespace": "argocd"},
        "spec": {
            "parentRefs": [{"name": "registry", "namespace": "envoy-gateway-system"}],
            "rules": [
                {
                    "backendRefs": [{"name": "argocd-server", "port": 80}],
                    "filters": [
                        {
                            "type": "RequestMirror",
                            "requestMirror": {"backendRef": {**MLFLOW_BACKEND, "namespace": "mlflow"}},
                        }
                    ],
                }
            ],
        },
    }


MLFLOW_BACKEND = {"name": "mlflow", "port": 5000}


def _exposure(*resources: tuple[str, dict[str, Any]]) -> list[str]:
    from modelops_policies import registry_exposure_rules
    from tests.policies.stack_args import resource, stack, violations

    declared = [
        resource(f"kubernetes:{props['apiVersion']}:{props['kind']}", f"r{i}", props)
        for i, (_, props) in enumerate(resources)
    ]
    args = stack(declared)
    return [
        *violations(registry_exposure_rules.mlflow_routes_use_tls, args),
        *violations(registry_exposure_rules.mlflow_routes_allow_listed, args),
    ]


def _good() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("gateway", _gateway(HTTPS_LISTENER)),
        ("route", _route_to(MLFLOW_BACKEND)),
        ("policy", _allow_list("203.0.113.0/24")),
    ]


def test_mlflow_over_https_behind_an_allow_list_passes():
    assert _exposure(*_good()) == []


def _without(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, props) for name, props in _good() if props["kind"] != kind]


EXPOSED = {
    "plain HTTP listener": [
        ("gateway", _gateway(HTTPS_LISTENER, {"name": "http", "protocol": "HTTP", "port": 80})),
        *_without("Gateway"),
    ],
    "HTTPS passing TLS through": [
        ("gateway", _gateway({**HTTPS_LISTENER, "tls": {"mode": "Passthrough"}})),
        *_without("Gateway"),
    ],
    "HTTPS without a certificate": [
        ("gateway", _gateway({**HTTPS_LISTENER, "tls": {"mode": "Terminate"}})),
        *_without("Gateway"),
    ],
    "a Gateway the stack does not declare": _without("Gateway"),
    "a TCPRoute to MLflow": [
        *_without("HTTPRoute"),
        ("route", _route_to(MLFLOW_BACKEND, kind="TCPRoute")),
    ],
    "MLflow named from another namespace": [
        *_without("HTTPRoute"),
        (
            "route",
            {
                **_route_to({**MLFLOW_BACKEND, "namespace": "mlflow"}),
                "metadata": {"name": "mlflow", "namespace": "mlflow"},
            },
        ),
        (
            "other",
            {
                **_route_to({**MLFLOW_BACKEND, "namespace": "mlflow"}),
                "metadata": {"name": "side", "namespace": "argocd"},
            },
        ),
    ],
    "MLflow as a request mirror": [
        *_good(),
        (
            "mirror",
            _mlflow_mirrored_by_argocd(),
        ),
    ],
    "no SecurityPolicy": _without("SecurityPolicy"),
    "a policy on another route": [
        *_without("SecurityPolicy"),
        (
            "policy",
            _allow_list(
                "203.0.113.0/24",
                target={"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "other"},
            ),
        ),
    ],
    "a policy on one rule only": [
        *_without("SecurityPolicy"),
        (
            "policy",
            _allow_list(
                "203.0.113.0/24",
                target={
                    "group": "gateway.networking.k8s.io",
                    "kind": "HTTPRoute",
                    "name": "mlflow",
                    "sectionName": "r",
                },
            ),
        ),
    ],
    "default Allow": [
        *_without("SecurityPolicy"),
        ("policy", _allow_list("203.0.113.0/24", default="Allow")),
    ],
    "the world allowed": [*_without("SecurityPolicy"), ("policy", _allow_list("0.0.0.0/0"))],
    "a JWT instead of networks": [
        *_without("SecurityPolicy"),
        (
            "policy",
            {
                **_allow_list("203.0.113.0/24"),
                "spec": {
                    "targetRefs": [
                        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "mlflow"}
                    ],
                    "authorization": {
                        "defaultAction": "Deny",
                        "rules": [
                            {"action": "Allow", "principal": {"jwt": {"provider": "p", "scopes": ["read"]}}}
                        ],
                    },
                },
            },
        ),
    ],
    "a looser policy on the Gateway beside the route's": [
        *_good(),
        (
            "loose",
            {
                **_allow_list(
                    "0.0.0.0/0",
                    target={"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "registry"},
                ),
                "metadata": {"name": "loose", "namespace": "envoy-gateway-system"},
            },
        ),
    ],
    "a policy picking targets by label": [
        *_good(),
        (
            "selector",
            {
                "apiVersion": "gateway.envoyproxy.io/v1alpha1",
                "kind": "SecurityPolicy",
                "metadata": {"name": "by-label", "namespace": "mlflow"},
                "spec": {"targetSelectors": [{"kind": "HTTPRoute", "matchLabels": {"app": "mlflow"}}]},
            },
        ),
    ],
}


@pytest.mark.parametrize("case", sorted(EXPOSED))
def test_mlflow_exposed_without_tls_or_an_allow_list_is_caught(case):
    assert _exposure(*EXPOSED[case]), case


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
    inline = _swap(declared, "ci-preview", managedPolicyArns=["arn:aws:iam::aws:policy/IAMFullAccess"])
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


# --- model artifacts in the registry stack's bucket only (artifact_rules) ---------------------------


@pytest.mark.parametrize("name", ["registry", *STACKS])
def test_only_the_registry_stack_declares_an_artifact_bucket(every_stack, name):
    assert (
        _stack_violations(
            artifact_rules.artifact_buckets_in_the_registry_only, every_stack[name].resources, name
        )
        == []
    )


def test_an_environment_that_declares_an_artifact_bucket_of_its_own_is_caught(every_stack):
    """An environment keeping its own locked bucket (as each once had): its overlays could pin bytes
    that no other rung reads. The registry's very bucket, declared in prod, is caught the same."""
    (bucket,) = [d for d in every_stack["registry"].resources if d.type == artifact_rules.BUCKET]
    own = replace(bucket, inputs={**bucket.inputs, "bucket": "modelops-prod-mlflow-artifacts"})
    for declared in ([*every_stack["prod"].resources, own], [*every_stack["prod"].resources, bucket]):
        found = _stack_violations(artifact_rules.artifact_buckets_in_the_registry_only, declared, "prod")
        assert len(found) == 1 and "live in the registry stack's bucket" in found[0], found
    # A payload bucket that says it holds no model artifacts is no artifact bucket.
    payloads = [d for d in every_stack["prod"].resources if d.type == artifact_rules.BUCKET]
    assert payloads and all(d.inputs["tags"][artifact_rules.EXEMPT_TAG] == "false" for d in payloads)
    untagged = replace(payloads[0], inputs={**payloads[0].inputs, "tags": {}})
    assert _stack_violations(
        artifact_rules.artifact_buckets_in_the_registry_only,
        [d for d in every_stack["prod"].resources if d is not payloads[0]] + [untagged],
        "prod",
    )


# --- MLflow's administration kept off its routes (registry_exposure_rules.mlflow_admin_not_public) ---


def _admin_violations(*routes: dict[str, Any]) -> list[str]:
    from modelops_policies import registry_exposure_rules
    from tests.policies.stack_args import resource, stack, violations

    declared = [
        resource(f"kubernetes:{props['apiVersion']}:{props['kind']}", f"r{i}", props)
        for i, props in enumerate(routes)
    ]
    return violations(registry_exposure_rules.mlflow_admin_not_public, stack(declared))


def _registry_route() -> dict[str, Any]:
    from modelops_infra.manifests.registry_gateway import route

    return route("mlflow.registry.example.com")


def _with_rules(change) -> dict[str, Any]:
    built = _registry_route()
    built["spec"]["rules"] = change(built["spec"]["rules"])
    return built


def _forwarding(kind: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "extra",
        "matches": [{"path": {"type": kind, "value": value}, **extra}],
        "backendRefs": [{"name": "mlflow", "port": 5000}],
    }


def _admin_rule_with(**change: Any):
    def apply(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**rule, **change} if rule["name"] == "mlflow-admin" else rule for rule in rules]

    return apply


ADMIN_EXPOSED = {
    "every path to MLflow, no admin rule": lambda: _route_to(MLFLOW_BACKEND),
    "the admin rule dropped": lambda: _with_rules(lambda rules: rules[1:]),
    "the admin rule forwarding to MLflow too": lambda: _with_rules(
        _admin_rule_with(backendRefs=[{"name": "mlflow", "port": 5000}])
    ),
    "the admin rule denying only with a header": lambda: _with_rules(
        _admin_rule_with(
            matches=[
                {**m, "headers": [{"name": "x-deny", "value": "1"}]}
                for m in _registry_route()["spec"]["rules"][0]["matches"]
            ]
        )
    ),
    "the admin rule missing /signup": lambda: _with_rules(
        _admin_rule_with(
            matches=[
                m for m in _registry_route()["spec"]["rules"][0]["matches"] if m["path"]["value"] != "/signup"
            ]
        )
    ),
    "an admin path forwarded by exact match": lambda: _with_rules(
        lambda rules: [*rules, _forwarding("Exact", "/api/2.0/mlflow/users/update-password")]
    ),
    "a prefix inside the admin area forwarded": lambda: _with_rules(
        lambda rules: [*rules, _forwarding("PathPrefix", "/ajax-api/3.0/mlflow/roles/")]
    ),
    "a prefix as long as the admin rule's, with a method": lambda: _with_rules(
        lambda rules: [*rules, _forwarding("PathPrefix", "/api/2.0/mlflow/users", method="PATCH")]
    ),
    "a regular expression forwarded": lambda: _with_rules(
        lambda rules: [*rules, _forwarding("RegularExpression", "^/api/.*")]
    ),
    # Beside the registry's own route, which passes:
    "a second route to MLflow with no admin rule": lambda: [
        _registry_route(),
        {
            **_route_to({**MLFLOW_BACKEND, "namespace": "mlflow"}),
            "metadata": {"name": "side", "namespace": "mlflow"},
        },
    ],
    "MLflow as a mirror of a route with no admin rule": lambda: [
        _registry_route(),
        _mlflow_mirrored_by_argocd(),
    ],
}


def test_the_registrys_route_keeps_mlflows_administration_off_and_other_services_are_not_judged():
    assert _admin_violations(_registry_route()) == []
    # A route to something else may cover every path: it reaches no MLflow.
    assert _admin_violations(_route_to({"name": "argocd-server", "port": 80})) == []
    # The signed-in person's own paths, forwarded exactly, are not administration.
    extra = _forwarding("Exact", "/ajax-api/2.0/mlflow/users/current")
    assert _admin_violations(_with_rules(lambda rules: [*rules, extra])) == []


@pytest.mark.parametrize("case", sorted(ADMIN_EXPOSED))
def test_a_route_forwarding_mlflows_administration_is_caught(case):
    routes = ADMIN_EXPOSED[case]()
    found = _admin_violations(*(routes if isinstance(routes, list) else [routes]))
    assert found, case
    assert all("to MLflow" in message for message in found), found


def test_the_admin_rule_is_in_the_pack():
    from modelops_policies import STACK_POLICIES

    assert "mlflow-admin-not-public" in {p.name for p in STACK_POLICIES}


def test_the_registry_stack_as_declared_keeps_mlflows_administration_off_its_route(registry_stack):
    from modelops_policies import registry_exposure_rules

    check = registry_exposure_rules.mlflow_admin_not_public
    routes = registry_stack.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert len(routes) == 1  # the rule has something to judge
    assert _stack_violations(check, registry_stack.resources, "registry") == []
    # The same stack with the route's admin rule dropped is caught.
    walked = []
    for resource in registry_stack.resources:
        if resource in routes:
            inputs = json.loads(json.dumps(resource.inputs))
            inputs["spec"]["rules"] = [r for r in inputs["spec"]["rules"] if r["name"] != "mlflow-admin"]
            resource = replace(resource, inputs=inputs)
        walked.append(resource)
    assert _stack_violations(check, walked, "registry")
