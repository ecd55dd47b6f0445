"""The deploy role's policies and the boundary, evaluated as IAM would, against the ways around them.

Each test is a request someone holding the deploy role's credentials (a compromised `pulumi up` job)
would make to get more than the stack: evaluated with tests/infra/iam_evaluation.py, never grepped.
"""

from __future__ import annotations

import json

import pytest

from modelops_infra.manifests.deploy_actions import (
    ATTACHABLE_POLICIES,
    ENVIRONMENT_PARTS,
    REGISTRY_PARTS,
    Part,
)
from modelops_infra.manifests.deploy_policy import (
    BOUNDARY_ALLOWED,
    MAX_POLICY_CHARS,
    TAG_KEY,
    StateBackend,
    boundary_document,
    boundary_policy_arn,
    deploy_policy_count,
    deploy_policy_documents,
    documents,
    policy_chars,
    read_policy_document,
)
from tests.infra.iam_evaluation import Request, decide

ACCOUNT = "123456789012"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/ci-deploy-a1b2c3d"
PREVIEW = f"arn:aws:iam::{ACCOUNT}:role/ci-preview-e4f5a6b"
BOUNDARY = boundary_policy_arn(ACCOUNT, "dev")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cluster-nodes-1234567"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


STATE = StateBackend(
    "modelops-pulumi-state", "modelops-platform", kms_key_arn="arn:aws:kms:eu-west-1:1:key/state"
)


def _deploy(parts=ENVIRONMENT_PARTS, environment="dev"):
    return deploy_policy_documents(environment, parts, protected_roles=[DEPLOY, PREVIEW])


def _decide(action, resource, documents=None, **context):
    context = {"aws:PrincipalAccount": ACCOUNT, **context}
    return decide(Request(action, resource, context), identity=documents or _deploy())


def _ours(**context):
    """A request about one of the stack's roles: it carries the boundary and the stack's tag."""
    return {"iam:PermissionsBoundary": BOUNDARY, f"aws:ResourceTag/{TAG_KEY}": "dev", **context}


# --- creating roles: only with the stack's boundary ------------------------------------------------


def test_a_role_is_created_only_with_the_stacks_boundary_and_tag():
    tag = {f"aws:RequestTag/{TAG_KEY}": "dev"}
    assert _decide("iam:CreateRole", ROLE, **tag, **{"iam:PermissionsBoundary": BOUNDARY}) == "allow"
    assert _decide("iam:CreateRole", ROLE, **tag) == "implicit-deny"  # no boundary
    other = boundary_policy_arn(ACCOUNT, "prod")
    assert _decide("iam:CreateRole", ROLE, **tag, **{"iam:PermissionsBoundary": other}) == "implicit-deny"
    assert _decide("iam:CreateRole", ROLE, **{"iam:PermissionsBoundary": ADMIN}, **tag) == "implicit-deny"
    # The boundary but not the stack's tag: a role the deploy role could not manage afterwards.
    assert _decide("iam:CreateRole", ROLE, **{"iam:PermissionsBoundary": BOUNDARY}) == "implicit-deny"


def test_no_role_can_be_given_administrator_access():
    assert _decide("iam:AttachRolePolicy", ROLE, **_ours(**{"iam:PolicyARN": ADMIN})) == "implicit-deny"
    for arn in ("arn:aws:iam::aws:policy/IAMFullAccess", f"arn:aws:iam::{ACCOUNT}:policy/anything"):
        assert _decide("iam:AttachRolePolicy", ROLE, **_ours(**{"iam:PolicyARN": arn})) == "implicit-deny"
    for arn in ATTACHABLE_POLICIES:  # what cluster.py attaches
        assert _decide("iam:AttachRolePolicy", ROLE, **_ours(**{"iam:PolicyARN": arn})) == "allow"


def test_policies_go_only_on_roles_that_carry_the_boundary():
    assert _decide("iam:PutRolePolicy", ROLE, **_ours()) == "allow"
    foreign = {f"aws:ResourceTag/{TAG_KEY}": "dev"}  # tagged as ours, but no boundary
    assert _decide("iam:PutRolePolicy", ROLE, **foreign) == "implicit-deny"
    legacy = {"iam:PolicyARN": ATTACHABLE_POLICIES[0], **foreign}
    assert _decide("iam:AttachRolePolicy", ROLE, **legacy) == "implicit-deny"


def test_no_boundary_is_ever_lifted_or_replaced():
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"):
        assert _decide(action, ROLE, **_ours()) == "explicit-deny"
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion"):
        assert _decide(action, BOUNDARY, **_ours()) == "explicit-deny"


def test_the_deploy_role_cannot_touch_its_own_role_nor_previews():
    # Even tagged as the stack's (the transform tags every role), its own and preview's are closed.
    for role in (DEPLOY, PREVIEW):
        for action in (
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:DeleteRole",
            "iam:UntagRole",
        ):
            context = _ours(**{"iam:PolicyARN": ADMIN})
            assert _decide(action, role, **context) == "explicit-deny", (action, role)


def test_the_deploy_policies_themselves_are_closed_to_it():
    own = f"arn:aws:iam::{ACCOUNT}:policy/modelops/deploy/modelops-dev-deploy-0"
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"):
        assert _decide(action, own) == "explicit-deny"
    assert _decide("iam:CreatePolicy", f"arn:aws:iam::{ACCOUNT}:policy/mine") == "implicit-deny"


def test_only_the_stacks_roles_are_passed_and_only_to_eks():
    ours = {f"aws:ResourceTag/{TAG_KEY}": "dev"}
    assert _decide("iam:PassRole", ROLE, **ours, **{"iam:PassedToService": "eks.amazonaws.com"}) == "allow"
    pods = {"iam:PassedToService": "pods.eks.amazonaws.com"}
    assert _decide("iam:PassRole", ROLE, **ours, **pods) == "allow"
    for service in ("ec2.amazonaws.com", "lambda.amazonaws.com"):
        assert _decide("iam:PassRole", ROLE, **ours, **{"iam:PassedToService": service}) == "implicit-deny"
    prod = {f"aws:ResourceTag/{TAG_KEY}": "prod", "iam:PassedToService": "eks.amazonaws.com"}
    assert _decide("iam:PassRole", ROLE, **prod) == "implicit-deny"
    assert (
        _decide("iam:PassRole", DEPLOY, **ours, **{"iam:PassedToService": "eks.amazonaws.com"})
        == "explicit-deny"
    )


def test_trust_of_a_role_is_changed_only_on_the_stacks_roles():
    assert _decide("iam:UpdateAssumeRolePolicy", ROLE, **_ours()) == "allow"
    untagged = f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"
    assert _decide("iam:UpdateAssumeRolePolicy", untagged) == "implicit-deny"
    assert _decide("iam:TagRole", untagged, **{f"aws:RequestTag/{TAG_KEY}": "dev"}) == "implicit-deny"


# --- the other services: the stack's names and tags ----------------------------------------------


def test_eks_changes_reach_the_stacks_cluster_only():
    mine = "arn:aws:eks:eu-west-1:123456789012:cluster/modelops-dev"
    assert _decide("eks:DeleteCluster", mine) == "allow"
    assert _decide("eks:CreatePodIdentityAssociation", mine) == "allow"
    association = "arn:aws:eks:eu-west-1:123456789012:podidentityassociation/modelops-dev/a-1"
    assert _decide("eks:DeletePodIdentityAssociation", association) == "allow"
    for other in ("cluster/modelops-prod", "cluster/modelops-dev-2", "addon/modelops-prod/vpc-cni/x"):
        assert _decide("eks:DeleteCluster", f"arn:aws:eks:eu-west-1:123456789012:{other}") == "implicit-deny"


def test_ec2_is_created_only_tagged_and_changed_only_when_tagged():
    vpc = "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1"
    assert _decide("ec2:CreateVpc", vpc, **{f"aws:RequestTag/{TAG_KEY}": "dev"}) == "allow"
    assert _decide("ec2:CreateVpc", vpc) == "implicit-deny"
    assert _decide("ec2:DeleteVpc", vpc, **{f"aws:ResourceTag/{TAG_KEY}": "dev"}) == "allow"
    assert _decide("ec2:DeleteVpc", vpc, **{f"aws:ResourceTag/{TAG_KEY}": "prod"}) == "implicit-deny"
    # Tags on another's resource only as part of a create call: no adopting someone else's VPC.
    assert _decide("ec2:CreateTags", vpc, **{f"aws:RequestTag/{TAG_KEY}": "dev"}) == "implicit-deny"
    assert _decide("ec2:CreateTags", vpc, **{"ec2:CreateAction": "CreateVpc"}) == "allow"
    assert _decide("ec2:RunInstances", "arn:aws:ec2:eu-west-1:123456789012:instance/i-1") == "implicit-deny"


def test_buckets_are_the_stacks_and_no_object_is_touched():
    mine = "arn:aws:s3:::modelops-dev-mlflow-artifacts"
    assert _decide("s3:PutBucketPolicy", mine) == "allow"
    assert _decide("s3:PutBucketPolicy", "arn:aws:s3:::modelops-prod-mlflow-artifacts") == "implicit-deny"
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:BypassGovernanceRetention"):
        assert _decide(action, f"{mine}/1/models/m-1/model.pkl") == "implicit-deny"
    # Lifting the artifact bucket's deny-deletes policy is an administrator's act.
    assert _decide("s3:DeleteBucketPolicy", mine) == "implicit-deny"


def test_keys_and_secrets_are_created_tagged_and_changed_when_tagged():
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234"
    assert _decide("kms:CreateKey", "*", **{f"aws:RequestTag/{TAG_KEY}": "dev"}) == "allow"
    assert _decide("kms:CreateKey", "*") == "implicit-deny"
    assert _decide("kms:ScheduleKeyDeletion", key, **{f"aws:ResourceTag/{TAG_KEY}": "dev"}) == "allow"
    assert _decide("kms:ScheduleKeyDeletion", key) == "implicit-deny"
    assert _decide("kms:Decrypt", key, **{f"aws:ResourceTag/{TAG_KEY}": "dev"}) == "implicit-deny"
    # CI's MLflow logins are the registry stack's (an environment's deploy role has no secrets part).
    secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci-gate-abc-XyZ"
    registry = _deploy(REGISTRY_PARTS, "registry")
    tagged = {f"aws:ResourceTag/{TAG_KEY}": "registry"}
    assert _decide("secretsmanager:GetSecretValue", secret, documents=registry, **tagged) == "allow"
    assert _decide("secretsmanager:GetSecretValue", secret, documents=registry) == "implicit-deny"
    assert (
        _decide("secretsmanager:GetSecretValue", secret, **{f"aws:ResourceTag/{TAG_KEY}": "dev"}) != "allow"
    )


def test_the_registry_and_an_environment_differ_by_their_parts():
    without_database = [p for p in ENVIRONMENT_PARTS if p is not Part.DATABASE]
    db = "arn:aws:rds:eu-west-1:123456789012:db:modelops-dev-mlflow"
    assert _decide("rds:CreateDBInstance", db, documents=_deploy(without_database)) == "implicit-deny"
    registry_db = "arn:aws:rds:eu-west-1:123456789012:db:modelops-registry-mlflow"
    assert (
        _decide("rds:CreateDBInstance", registry_db, documents=_deploy(REGISTRY_PARTS, "registry")) == "allow"
    )
    assert _decide("rds:CreateDBInstance", registry_db) == "implicit-deny"  # dev's role
    with pytest.raises(ValueError, match="parts"):
        deploy_policy_documents("dev", [], protected_roles=[DEPLOY])


# --- shape: no wildcard grants, within IAM's limits ----------------------------------------------


@pytest.mark.parametrize("parts", [ENVIRONMENT_PARTS, REGISTRY_PARTS, (Part.NETWORK, Part.CLUSTER)])
def test_no_statement_allows_everything_or_iam_wholesale(parts):
    for text in [*_deploy(parts), read_policy_document("dev", parts)]:
        for statement in json.loads(text)["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement and "NotResource" not in statement
            actions = statement["Action"]
            assert not [a for a in actions if "*" in a or "?" in a], statement["Sid"]
            if statement["Resource"] == "*" and "Condition" not in statement:
                # Unscoped, so only calls that read metadata (never data) or name the caller.
                verbs = {a.split(":")[1] for a in actions}
                assert all(v.startswith(("Describe", "List", "Get")) for v in verbs), statement["Sid"]
                assert not {"GetObject", "GetSecretValue"} & verbs


def test_every_policy_fits_iams_size_limit_and_splits_when_it_must():
    texts = _deploy(REGISTRY_PARTS, "registry")
    assert all(policy_chars(json.loads(t)) <= MAX_POLICY_CHARS for t in texts)
    assert len(texts) == deploy_policy_count("registry", REGISTRY_PARTS) >= 2
    assert policy_chars(json.loads(boundary_document())) <= MAX_POLICY_CHARS
    # Split, each part still denies on its own, and nothing is lost in the split.
    unique = {s["Sid"]: s for t in texts for s in json.loads(t)["Statement"]}
    statements = list(unique.values())
    small = documents(statements, limit=3000)
    assert len(small) > len(texts)
    for document in small:
        assert {s["Sid"] for s in document["Statement"] if s["Effect"] == "Deny"} == {
            "NeverItsOwnAccessNorABoundary",
            "NeverChangeABoundary",
        }
    with pytest.raises(ValueError, match="exceed"):
        documents(statements, limit=500)


def test_the_split_does_not_depend_on_the_real_role_arns():
    longest = f"arn:aws:iam::{ACCOUNT}:role/{'r' * 64}"
    for arns in ([DEPLOY, PREVIEW], [longest, longest]):
        texts = deploy_policy_documents("prod", ENVIRONMENT_PARTS, protected_roles=arns)
        assert len(texts) == deploy_policy_count("prod", ENVIRONMENT_PARTS)
        assert all(arns[0] in t and "placeholder" not in t for t in texts)
    with pytest.raises(ValueError, match="longer"):
        deploy_policy_documents("prod", ENVIRONMENT_PARTS, protected_roles=[longest + "x", PREVIEW])


# --- the boundary: what a role the deploy role creates can at most do ---------------------------


def _bounded(action, resource="*", **context):
    """A role the deploy role made, with the boundary and the worst grant it could put on it."""
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    return decide(Request(action, resource, context), identity=[grant], boundary=boundary_document())


def test_a_bounded_role_with_an_admin_grant_still_cannot_administer_iam():
    for action in (
        "iam:CreateRole",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:PassRole",
        "iam:DeleteRolePermissionsBoundary",
        "iam:PutRolePermissionsBoundary",
        "iam:CreatePolicyVersion",
        "iam:CreateUser",
        "iam:CreateAccessKey",
    ):
        assert _bounded(action) == "explicit-deny", action
    for action in (
        "organizations:LeaveOrganization",
        "cloudtrail:StopLogging",
        "sts:AssumeRole",
        "lambda:CreateFunction",
    ):
        assert _bounded(action) == "implicit-deny", action
    eks_lb = {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
    assert _bounded("iam:CreateServiceLinkedRole", **eks_lb) == "allow"
    assert (
        _bounded("iam:CreateServiceLinkedRole", **{"iam:AWSServiceName": "lambda.amazonaws.com"}) != "allow"
    )


def test_the_boundary_lets_through_what_the_platforms_roles_are_granted(stacks):
    """Every action of every inline policy a stack declares is within the boundary."""
    for name in ("dev", "prod"):
        for policy in stacks[name].of_type("aws:iam/rolePolicy:RolePolicy"):
            for statement in json.loads(policy.inputs["policy"])["Statement"]:
                for action in statement["Action"]:
                    for resource in (
                        statement["Resource"]
                        if isinstance(statement["Resource"], list)
                        else [statement["Resource"]]
                    ):
                        assert _bounded(action, resource) == "allow", (policy.name, action)
    assert "iam:CreateRole" not in BOUNDARY_ALLOWED


@pytest.mark.parametrize("parts", [ENVIRONMENT_PARTS, REGISTRY_PARTS])
def test_preview_which_carries_the_boundary_can_still_read_everything_its_policy_grants(parts):
    read = read_policy_document("dev", parts, state=STATE)
    for statement in json.loads(read)["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for resource in (r.replace("*", "x") for r in resources):
            for action in statement["Action"]:
                request = Request(action, resource, {"aws:PrincipalAccount": ACCOUNT})
                assert decide(request, identity=[read], boundary=boundary_document()) == "allow", action


def test_nothing_untagged_is_adopted_by_tagging_it_as_the_stacks():
    """Tag, then manage: the way around every tag condition. Only EC2's create calls may tag."""
    for action, resource in (
        ("iam:TagRole", f"arn:aws:iam::{ACCOUNT}:role/Admin"),
        (
            "iam:TagOpenIDConnectProvider",
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.x.amazonaws.com/id/1",
        ),
        ("kms:TagResource", "arn:aws:kms:eu-west-1:123456789012:key/other"),
        ("secretsmanager:TagResource", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-AbC"),
        ("rds:AddTagsToResource", "arn:aws:rds:eu-west-1:123456789012:subgrp:other"),
        ("ec2:CreateTags", "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-other"),
    ):
        # Secrets and the database's subnet group are the registry stack's parts alone.
        stack = "registry" if action.startswith(("secretsmanager:", "rds:")) else "dev"
        documents = _deploy(REGISTRY_PARTS, stack) if stack == "registry" else None
        request_tag = {f"aws:RequestTag/{TAG_KEY}": stack}
        assert _decide(action, resource, documents=documents, **request_tag) == "implicit-deny", action
        owned = {f"aws:ResourceTag/{TAG_KEY}": stack, **request_tag}
        assert _decide(action, resource, documents=documents, **owned) == "allow", action


def test_each_stacks_roles_reach_their_own_pulumi_state_only():
    deploy = deploy_policy_documents("dev", ENVIRONMENT_PARTS, protected_roles=[DEPLOY, PREVIEW], state=STATE)
    preview = [read_policy_document("dev", ENVIRONMENT_PARTS, state=STATE)]
    root = "arn:aws:s3:::modelops-pulumi-state/.pulumi"
    mine, prods = f"{root}/stacks/modelops-platform/dev.json", f"{root}/stacks/modelops-platform/prod.json"
    for documents_ in (deploy, preview):
        assert _decide("s3:GetObject", mine, documents=documents_) == "allow"
        assert _decide("s3:GetObject", prods, documents=documents_) == "implicit-deny"
        lock = f"{root}/locks/modelops-platform/dev/1.json"
        assert _decide("s3:PutObject", lock, documents=documents_) == "allow"
    assert _decide("s3:PutObject", mine, documents=deploy) == "allow"
    assert _decide("s3:PutObject", prods, documents=deploy) == "implicit-deny"  # a shared bucket
    assert _decide("s3:PutObject", mine, documents=preview) == "implicit-deny"  # preview writes no state
    assert _decide("kms:Encrypt", STATE.kms_key_arn, documents=deploy) == "allow"
    assert _decide("kms:Encrypt", STATE.kms_key_arn, documents=preview) == "implicit-deny"
    # Without a state backend named, no S3 object access at all.
    assert _decide("s3:GetObject", mine) == "implicit-deny"
    assert deploy_policy_count("dev", ENVIRONMENT_PARTS, state=STATE) == len(deploy)
