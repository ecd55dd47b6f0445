"""AWS rules. Props are engine inputs (camelCase); an absent property means the AWS default.

`report(message, None)`: the second argument is the URN a violation is about, None for the resource
being validated; pulumi_policy's `ReportViolation` type makes it a required argument.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from modelops_policies.boundary_policy import is_permissions_boundary
from modelops_policies.github_subjects import GITHUB_ISSUER, is_pull_request_pattern

ADMIN_PORTS = (22, 3389, 5432, 3306, 6443)
OPEN = ("0.0.0.0/0", "::/0")
# Stacks where a (CIDR-restricted) public EKS endpoint is tolerated.
PUBLIC_ENDPOINT_STACKS = ("dev", "local")


def rds_private_and_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:rds/instance:Instance":
        return
    if args.props.get("publiclyAccessible", False):
        report("RDS instance must not be publicly accessible.", None)
    if not args.props.get("storageEncrypted", False):  # AWS default: unencrypted
        report("RDS instance storage must be encrypted (storageEncrypted: true).", None)


# Stacks whose database prod depends on: prod's own, and the shared registry's, which serves prod.
RESILIENT_DATABASE_STACKS = ("prod", "registry")


def rds_resilient_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Prod's registry database survives a zone failure and a mistaken delete (AWS defaults: neither)."""
    if args.resource_type != "aws:rds/instance:Instance" or _stack(args) not in RESILIENT_DATABASE_STACKS:
        return
    if not args.props.get("multiAz", False):
        report("RDS instance in prod must be multi-AZ (multiAz: true).", None)
    if not args.props.get("deletionProtection", False):
        report("RDS instance in prod must have deletion protection (deletionProtection: true).", None)


def s3_public_access_blocked(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        return
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    missing = [flag for flag in flags if not args.props.get(flag, False)]
    if missing:
        report(f"S3 public access block must set all four flags; not set: {', '.join(missing)}.", None)


def s3_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    kind = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    if args.resource_type != kind:
        return
    rules = args.props.get("rules") or []
    algorithms = [
        (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for rule in rules
    ]
    if not algorithms or not all(algorithms):
        report("S3 encryption configuration must name an SSE algorithm in every rule.", None)


def _stack(args: ResourceValidationArgs) -> str:
    # Config wins (tests, explicit runs); otherwise the stack the CLI is analysing.
    return str(args.get_config().get("stack") or os.environ.get("PULUMI_STACK", ""))


def eks_endpoint_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:eks/cluster:Cluster":
        return
    vpc = args.props.get("vpcConfig") or {}
    public = vpc.get("endpointPublicAccess", True)  # AWS default: public
    if not public:
        return
    if _stack(args) not in PUBLIC_ENDPOINT_STACKS:
        report(f"EKS API endpoint must be private outside {', '.join(PUBLIC_ENDPOINT_STACKS)}.", None)
    elif any(cidr in OPEN for cidr in vpc.get("publicAccessCidrs") or list(OPEN)):
        report("A public EKS endpoint must be limited to named CIDRs, never 0.0.0.0/0 (the default).", None)


def imdsv2_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"):
        return
    options = args.props.get("metadataOptions") or {}
    if options.get("httpTokens") != "required":  # AWS default: optional (IMDSv1 allowed)
        report("Instance metadata must require IMDSv2 tokens (metadataOptions.httpTokens: required).", None)
    if options.get("httpPutResponseHopLimit", 1) > 1 and args.resource_type.endswith("LaunchTemplate"):
        report("IMDS hop limit must be 1 so pods cannot reach node credentials.", None)


def _opens_admin_port(rule: dict[str, Any]) -> bool:
    cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
    if not any(cidr in OPEN for cidr in cidrs):
        return False
    if str(rule.get("protocol")) in ("-1", "all"):
        return True
    low, high = int(rule.get("fromPort", 0)), int(rule.get("toPort", 65535))
    return any(low <= port <= high for port in ADMIN_PORTS)


def no_admin_ports_open_to_world(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:ec2/securityGroup:SecurityGroup":
        rules = args.props.get("ingress") or []
    elif (
        args.resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule"
        and args.props.get("type") == "ingress"
    ):
        rules = [args.props]
    elif args.resource_type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        props = args.props
        rules = [
            {
                **props,
                "cidrBlocks": [props.get("cidrIpv4"), props.get("cidrIpv6")],
                "protocol": props.get("ipProtocol"),
            }
        ]
    else:
        return
    if any(_opens_admin_port(rule) for rule in rules):
        report(
            f"Security group opens an admin port ({', '.join(map(str, ADMIN_PORTS))}) to the internet.", None
        )


def _statements(policy: Any) -> list[dict[str, Any]]:
    document = json.loads(policy) if isinstance(policy, str) else policy or {}
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _has_wildcard(value: Any) -> bool:
    return any("*" in str(v) or "?" in str(v) for v in _as_list(value))


def _web_identity_statements(policy: Any) -> list[dict[str, Any]]:
    return [s for s in _statements(policy) if "sts:AssumeRoleWithWebIdentity" in str(s.get("Action"))]


def _pull_request_subjects(operator: str, pairs: Any) -> bool:
    """`StringLike` on GitHub's `sub` alone, every value a pull request job's subject whose only
    wildcard is the pull request's number (github_subjects.py): the one pattern a trust may hold."""
    if operator != "StringLike" or not isinstance(pairs, dict) or set(pairs) != {f"{GITHUB_ISSUER}:sub"}:
        return False
    values = _as_list(pairs[f"{GITHUB_ISSUER}:sub"])
    return bool(values) and all(isinstance(v, str) and is_pull_request_pattern(v) for v in values)


def oidc_trust_without_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:iam/role:Role":
        return
    for statement in _web_identity_statements(args.props.get("assumeRolePolicy")):
        conditions = statement.get("Condition") or {}
        like = conditions.get("StringLike")
        extra = (
            set(conditions)
            - {"StringEquals"}
            - ({"StringLike"} if _pull_request_subjects("StringLike", like) else set())
        )
        if extra:
            report(
                f"OIDC trust may use StringEquals only (StringLike only for pull requests' subjects), "
                f"found {sorted(extra)}.",
                None,
            )
        equals = conditions.get("StringEquals") or {}
        keys = {key.rsplit(":", 1)[-1] for key in [*equals, *(like or {})]}
        if not {"sub", "aud"} <= keys:
            report("OIDC trust must pin both the sub and aud claims.", None)
        values = [v for value in equals.values() for v in (value if isinstance(value, list) else [value])]
        if any("*" in str(v) or "?" in str(v) for v in values):
            report("OIDC trust conditions must not contain wildcards.", None)


def trust_without_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Whoever a role trusts, it is named exactly: no `*` principal, action or condition value."""
    if args.resource_type != "aws:iam/role:Role":
        return
    for statement in _statements(args.props.get("assumeRolePolicy")):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        principal = statement.get("Principal")
        named = principal.values() if isinstance(principal, dict) else [principal]
        if principal is None or any(_has_wildcard(value) for value in named):
            report("Role trust must name its principal exactly, never '*'.", None)
        if "NotPrincipal" in statement or "NotAction" in statement:
            report("Role trust must not use NotPrincipal or NotAction.", None)
        if _has_wildcard(statement.get("Action")):
            report("Role trust must list its actions, never a wildcard.", None)
        for operator, pairs in (statement.get("Condition") or {}).items():
            if _pull_request_subjects(operator, pairs):
                continue  # the pull request's number, the one wildcard allowed (github_subjects.py)
            if "Like" in operator:
                report(f"Role trust conditions must match exactly, found {operator}.", None)
            if any(_has_wildcard(value) for value in (pairs or {}).values()):
                report("Role trust condition values must not contain wildcards.", None)


POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
POD_IDENTITY_TAGS = ("eks-cluster-name", "kubernetes-namespace", "kubernetes-service-account")


def pod_identity_trust_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A Pod Identity role names its cluster, namespace and service accounts in its trust."""
    if args.resource_type != "aws:iam/role:Role":
        return
    for statement in _statements(args.props.get("assumeRolePolicy")):
        principal = statement.get("Principal")
        services = principal.get("Service") if isinstance(principal, dict) else None
        if POD_IDENTITY_SERVICE not in _as_list(services):
            continue
        if sorted(_as_list(statement.get("Action"))) != ["sts:AssumeRole", "sts:TagSession"]:
            report("Pod Identity trust must allow exactly sts:AssumeRole and sts:TagSession.", None)
        equals = (statement.get("Condition") or {}).get("StringEquals") or {}
        missing = [tag for tag in POD_IDENTITY_TAGS if not equals.get(f"aws:RequestTag/{tag}")]
        if missing:
            report(f"Pod Identity trust must pin the session tags {', '.join(missing)} (StringEquals).", None)


def role_policy_without_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Inline and customer policies list the actions they allow; `s3:*` or `*` is never least privilege."""
    if args.resource_type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        return
    if args.resource_type == "aws:iam/policy:Policy" and is_permissions_boundary(args.props):
        return  # a cap, not a grant: boundary_policy.py
    for statement in _statements(args.props.get("policy")):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        if "NotAction" in statement:
            report("IAM policies must not allow through NotAction.", None)
        if _has_wildcard(statement.get("Action")):
            report(f"IAM policy allows wildcard actions: {statement.get('Action')}.", None)
