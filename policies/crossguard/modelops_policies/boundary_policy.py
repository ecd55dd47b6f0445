"""What makes a customer policy the stack's permissions boundary, for the rules that treat it apart.

A boundary caps; it grants nothing. It may therefore allow per service (`ec2:*`), which the
wildcard rule refuses in a grant, but only if it is where the stack keeps its boundary
(infra: `manifests.deploy_policy.BOUNDARY_PATH`) and denies, to every resource and without
condition, the IAM changes that would let a bounded role make a stronger one or lift its boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops_policies.artifact_rules import _as_list, _covers, _statements

BOUNDARY_PATH = "/modelops/boundary/"
REQUIRED_DENIES = (
    "iam:AttachRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:CreateUser",
    "iam:DeleteRolePermissionsBoundary",
    "iam:PassRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
)


def missing_denies(policy: Any) -> list[str]:
    """The REQUIRED_DENIES a document does not deny outright (on `*`, without condition)."""
    outright = [
        s
        for s in _statements(policy)
        if s.get("Effect") == "Deny" and "Condition" not in s and _as_list(s.get("Resource")) == ["*"]
    ]
    return [a for a in REQUIRED_DENIES if not any(_covers(s.get("Action"), a) for s in outright)]


def is_permissions_boundary(props: Mapping[str, Any]) -> bool:
    return props.get("path") == BOUNDARY_PATH and not missing_denies(props.get("policy"))
