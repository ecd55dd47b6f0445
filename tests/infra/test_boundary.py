"""Every role an AWS stack declares carries the stack's permissions boundary, through one transform.

The whole `build()` of each stack runs under the mocks, which run registered stack transforms as the
engine does (tests/infra/harness.py): what is asserted is what the engine would send to AWS.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws
import pytest

from modelops_infra.boundary import ROLE, TAGGED_TYPES, UNBOUNDED_TAG, UNBOUNDED_VALUE, bound_and_tagged
from modelops_infra.manifests.deploy_policy import (
    BOUNDARY_PATH,
    TAG_KEY,
    boundary_document,
    boundary_policy_arn,
    boundary_policy_name,
)
from tests.infra.conftest import AWS_STACKS
from tests.infra.harness import ACCOUNT

ISSUER = "token.actions.githubusercontent.com"


@pytest.mark.parametrize("name", ["registry", *AWS_STACKS])
def test_every_role_but_deploy_carries_the_stacks_boundary(every_stack, name):
    roles = every_stack[name].of_type(ROLE)
    # cluster, nodes, reader, sink, monitor, CI's; the registry: MLflow's, the writer, gate, retrain
    assert len(roles) >= 7
    unbounded = [r for r in roles if "permissionsBoundary" not in r.inputs]
    assert [r.name for r in unbounded] == ["ci-deploy"]
    (deploy,) = unbounded
    assert deploy.inputs["tags"][UNBOUNDED_TAG] == UNBOUNDED_VALUE
    (statement,) = json.loads(deploy.inputs["assumeRolePolicy"])["Statement"]
    subject = statement["Condition"]["StringEquals"][f"{ISSUER}:sub"]
    assert subject.split("/.github/workflows/")[-1] == "infra.yml@refs/heads/main"
    expected = boundary_policy_arn(ACCOUNT, name)
    assert {r.inputs["permissionsBoundary"] for r in roles if r not in unbounded} == {expected}


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_boundary_is_the_stacks_policy_at_the_arn_the_roles_name(stacks, name):
    (policy,) = [p for p in stacks[name].of_type("aws:iam/policy:Policy") if p.name == "permissions-boundary"]
    assert policy.inputs["name"] == boundary_policy_name(name)
    assert policy.inputs["path"] == BOUNDARY_PATH
    assert policy.inputs["policy"] == boundary_document()
    # IAM's ARN of a policy: account, path, name; the roles' literal must be exactly that.
    assert (
        boundary_policy_arn(ACCOUNT, name)
        == f"arn:aws:iam::{ACCOUNT}:policy{BOUNDARY_PATH}{policy.inputs['name']}"
    )


def test_the_local_stack_has_no_boundary_and_no_aws_resource(stacks):
    assert not [r for r in stacks["local"].resources if r.type.startswith("aws:")]


def test_every_type_the_deploy_role_scopes_by_tag_is_declared_by_some_stack(every_stack):
    declared = {r.type for name, stack in every_stack.items() if name != "local" for r in stack.resources}
    assert declared >= TAGGED_TYPES  # no stale entry


@pytest.mark.parametrize("name", ["registry", *AWS_STACKS])
def test_the_stacks_tag_is_on_every_resource_the_deploy_role_scopes_by_tag_and_only_there(every_stack, name):
    for resource in every_stack[name].resources:
        tags = resource.inputs.get("tags") or {}
        if resource.type in TAGGED_TYPES:
            assert tags.get(TAG_KEY) == name, resource.name
        elif resource.type != "aws:iam/policy:Policy" and not resource.type.startswith("aws:ec2/"):
            # Untouched by the transform (the network component tags its own EC2 resources).
            assert TAG_KEY not in tags, resource.name


def test_every_tagged_type_takes_tags():
    for token in TAGGED_TYPES:
        module, kind = token.split(":")[1].split("/")[0], token.rsplit(":", 1)[-1]
        args = getattr(getattr(pulumi_aws, module), f"{kind}Args")
        assert "tags" in args.__init__.__code__.co_varnames, token


def _transform(type_, props):
    args = pulumi.ResourceTransformArgs(True, type_, "r", props, pulumi.ResourceOptions())
    return bound_and_tagged(args, environment="dev", boundary_arn="arn:aws:iam::1:policy/modelops/boundary/b")


def test_a_component_cannot_give_a_role_another_boundary_or_untag_it():
    result = _transform(
        ROLE,
        {"permissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess", "tags": {TAG_KEY: "prod"}},
    )
    assert result is not None
    assert result.props["permissionsBoundary"] == "arn:aws:iam::1:policy/modelops/boundary/b"
    assert result.props["tags"] == {TAG_KEY: "dev"}
    # Only the exact marker leaves a role unbounded; CrossGuard admits it on the deploy role alone.
    near = _transform(ROLE, {"tags": {UNBOUNDED_TAG: "none"}})
    assert near is not None and "permissionsBoundary" in near.props
    marked = _transform(ROLE, {"tags": {UNBOUNDED_TAG: UNBOUNDED_VALUE}})
    assert marked is not None and "permissionsBoundary" not in marked.props


def test_other_types_pass_through_untouched():
    assert _transform("aws:rds/instance:Instance", {"password": "p"}) is None
    assert _transform("kubernetes:core/v1:Secret", {"stringData": {}}) is None
