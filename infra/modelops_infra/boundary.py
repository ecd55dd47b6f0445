"""One place that bounds every IAM role of an AWS stack, whichever component declares it.

`bound_stack` creates the stack's permissions boundary (`manifests.deploy_policy.boundary_document`)
and registers a Pulumi stack transform that, for every resource declared after it:
- sets `permissionsBoundary` on every `aws:iam/role:Role` to that boundary, overriding whatever the
  component set, and makes the role wait for the boundary to exist;
- adds the tag `modelops:environment = <env>` to the resource types the deploy role's policies scope
  by tag (TAGGED_TYPES), so a resource the stack creates is one the deploy role may change.

One role is left unbounded: the deploy role, which must create roles and policies, and which its
own policies forbid to change itself; CiAccess marks it with UNBOUNDED_TAG, and the CrossGuard rule
`roles-carry-permissions-boundary` admits that tag only on a role trusted by main's infra workflow.

The transform runs in the engine (Pulumi >= 3.118 stack transforms, which reach the children of
every component). Pulumi's mock monitor records transforms without running them; the tests' mocks
(tests/infra/harness.py) run them, so the declared inputs are what the engine would send.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws

from modelops_infra.manifests.deploy_policy import (
    BOUNDARY_PATH,
    TAG_KEY,
    boundary_document,
    boundary_policy_arn,
    boundary_policy_name,
)

ROLE = "aws:iam/role:Role"
# Set on the deploy role only (see the module's docstring).
UNBOUNDED_TAG = "modelops.io/permissions-boundary"
UNBOUNDED_VALUE = "none-deploy-role"
# The types whose deploy statements are conditioned on the tag. Only these are tagged: a tag on
# anything else would be an unchecked change to every resource of the stack.
TAGGED_TYPES = frozenset(
    {
        ROLE,
        "aws:ec2/eip:Eip",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:kms/key:Key",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:secretsmanager/secret:Secret",
    }
)


def bound_stack(environment: str) -> aws.iam.Policy:
    """Create the boundary and register the transform; call before any other resource is declared."""
    # The boundary's ARN is needed as a literal: a role's boundary then shows in the first preview
    # (and to CrossGuard) before the policy exists. The account is the credentials' own.
    account = aws.get_caller_identity().account_id
    policy = aws.iam.Policy(
        "permissions-boundary",
        name=boundary_policy_name(environment),
        path=BOUNDARY_PATH,
        description=f"Permissions boundary of every role of modelops-{environment} but deploy",
        policy=boundary_document(),
        tags={TAG_KEY: environment},
    )
    pulumi.runtime.register_resource_transform(
        partial(
            bound_and_tagged,
            environment=environment,
            boundary_arn=boundary_policy_arn(account, environment),
            boundary=policy,
        )
    )
    return policy


def bound_and_tagged(
    args: pulumi.ResourceTransformArgs,
    *,
    environment: str,
    boundary_arn: str,
    boundary: pulumi.Resource | None = None,
) -> pulumi.ResourceTransformResult | None:
    """The transform: the stack's tag on TAGGED_TYPES, the boundary on every role but deploy's."""
    if args.type_ not in TAGGED_TYPES:
        return None  # untouched, secrets and all
    props: dict[str, Any] = dict(args.props)
    tags = props.get("tags") or {}
    if not isinstance(tags, dict):
        raise ValueError(f"{args.name}: tags must be known when declared to carry {TAG_KEY}")
    props["tags"] = {**tags, TAG_KEY: environment}
    opts = args.opts
    if args.type_ == ROLE and tags.get(UNBOUNDED_TAG) != UNBOUNDED_VALUE:
        props["permissionsBoundary"] = boundary_arn
        if boundary is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[boundary]))
    return pulumi.ResourceTransformResult(props=props, opts=opts)
