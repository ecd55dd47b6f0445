"""A small evaluator of AWS IAM policies: identity policies plus one resource policy, one request.

Why here and not a library: moto (a dependency already) evaluates policies for its mock services,
but only `StringEquals` among condition operators and ignores the others (so it answers yes to a
condition it cannot read), treats a statement whose condition fails as an explicit deny, matches
principals other than `*` not at all, and checks an S3 bucket policy without its principal. No
package in the registry lists evaluates identity and resource policies together with AWS's
cross-account rule. This module covers what the platform's documents use and refuses the rest:

- Statements: `Effect`, `Action`/`NotAction`, `Resource`/`NotResource`, `Principal` (resource
  policies), `Condition`. `NotPrincipal` and policy variables (`${...}`) raise `Unsupported`.
- Wildcards: `*` (any run of characters) and `?` (one character). Actions compare without
  regard to case, resources with it. In a resource ARN a wildcard stays inside its
  colon-separated segment, except a `*` that ends a segment, which may reach past colons (the
  IAM user guide, "Resource": "Using wildcards in resource ARNs").
- Principals: `"*"`, `{"AWS": "*"}`, an account (`123456789012` or `arn:aws:iam::123456789012:root`,
  which delegates to that account's IAM policies), a role ARN. Service and federated principals
  never match a role.
- Conditions: `StringEquals`, `StringNotEquals`, `StringLike`, `Bool`; several values of one key
  are ORed, keys and operators ANDed; a key absent from the request fails the positive operators
  and passes `StringNotEquals`. Any other operator raises `Unsupported`: an evaluator that skipped
  a condition could say yes wrongly.
- Decision (the IAM user guide, "Policy evaluation logic" and "Cross-account policy evaluation
  logic"): an explicit Deny in any policy wins. Within one account, an Allow in the identity
  policies or one that names the principal itself in the resource policy suffices; a resource
  policy naming the account only delegates, so the identity policies must allow. A KMS key policy
  must allow in every case (a key's policy is its root of trust). Across accounts, both the
  identity policies and the resource policy must allow.

Not modelled (the documents under test use none): SCPs, permission boundaries, session
policies, ACLs, VPC endpoint policies, multi-valued keys (`ForAnyValue`/`ForAllValues`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/(.+)")


class Unsupported(ValueError):
    """A policy uses an element or operator this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    principal: str  # the role ARN a session belongs to (arn:aws:iam::<account>:role/<name>)
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        match = ROLE_ARN.fullmatch(self.principal)
        if match is None:
            raise Unsupported(f"principal {self.principal!r} is not a role ARN")
        return match.group(1)

    def values(self) -> dict[str, str]:
        """The request context: what the caller gave, plus the keys AWS sets for every request."""
        return {
            "aws:PrincipalArn": self.principal,
            "aws:PrincipalAccount": self.account,
            "aws:SecureTransport": "true",
            **self.context,
        }


@dataclass(frozen=True)
class Resource:
    arn: str
    account: str  # the owning account
    policy: str | None = None  # the bucket policy or key policy, JSON
    policy_required: bool = False  # a KMS key: nothing is allowed unless its key policy allows


def _pattern(glob: str, *, in_arn: bool) -> str:
    if "${" in glob:
        raise Unsupported(f"policy variables are not evaluated: {glob!r}")
    out = []
    for index, char in enumerate(glob):
        if char == "*":
            ends_segment = index + 1 == len(glob) or glob[index + 1] == ":"
            out.append(".*" if not in_arn or ends_segment else "[^:]*")
        elif char == "?":
            out.append("[^:]" if in_arn else ".")
        else:
            out.append(re.escape(char))
    return "".join(out)


def action_matches(pattern: str, action: str) -> bool:
    return re.fullmatch(_pattern(pattern, in_arn=False), action, flags=re.IGNORECASE | re.DOTALL) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    if pattern == "*":
        return True
    return re.fullmatch(_pattern(pattern, in_arn=True), arn, flags=re.DOTALL) is not None


def string_like(pattern: str, value: str) -> bool:
    return re.fullmatch(_pattern(pattern, in_arn=False), value, flags=re.DOTALL) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringLike": lambda expected, actual: string_like(expected, actual),
    "Bool": lambda expected, actual: str(expected).lower() == actual.lower(),
}


def conditions_hold(conditions: dict[str, Any] | None, context: dict[str, str]) -> bool:
    for operator, pairs in (conditions or {}).items():
        for key, expected in pairs.items():
            actual = context.get(key)
            if operator == "StringNotEquals":
                if actual is not None and actual in _as_list(expected):
                    return False
                continue
            if operator not in _OPERATORS:
                raise Unsupported(f"condition operator {operator} is not evaluated")
            if actual is None or not any(_OPERATORS[operator](e, actual) for e in _as_list(expected)):
                return False
    return True


# How a resource policy's statement names the caller: not at all, through its account, or itself.
NONE, ACCOUNT, DIRECT = 0, 1, 2


def principal_match(principal: Any, request: Request) -> int:
    if principal == "*":
        return DIRECT
    if not isinstance(principal, dict):
        raise Unsupported(f"principal {principal!r}")
    best = NONE
    for value in _as_list(principal.get("AWS", [])):
        if value == "*" or value == request.principal:
            best = DIRECT
        elif value in (request.account, f"arn:aws:iam::{request.account}:root"):
            best = max(best, ACCOUNT)
    return best


def _statements(policy: str | None) -> list[dict[str, Any]]:
    if not policy:
        return []
    return _as_list(json.loads(policy).get("Statement", []))


def statement_applies(statement: dict[str, Any], request: Request) -> bool:
    """Action, resource and conditions (not the principal) select the request."""
    if "NotPrincipal" in statement:
        raise Unsupported("NotPrincipal")
    if "Action" in statement:
        acts = any(action_matches(p, request.action) for p in _as_list(statement["Action"]))
    else:
        acts = not any(action_matches(p, request.action) for p in _as_list(statement["NotAction"]))
    if "Resource" in statement:
        on = any(resource_matches(p, request.resource) for p in _as_list(statement["Resource"]))
    else:
        on = not any(resource_matches(p, request.resource) for p in _as_list(statement["NotResource"]))
    return acts and on and conditions_hold(statement.get("Condition"), request.values())


def is_allowed(request: Request, *, identity: list[str], resource: Resource) -> bool:
    """AWS's decision for `request` by a session of its role, holding the `identity` policies."""
    identity_allows = False
    for statement in (s for policy in identity for s in _statements(policy)):
        if "Principal" in statement or "NotPrincipal" in statement:
            raise Unsupported("an identity policy names no principal")
        if statement_applies(statement, request):
            if statement["Effect"] == "Deny":
                return False
            identity_allows = True
    named = NONE
    for statement in _statements(resource.policy):
        if "Principal" not in statement:
            raise Unsupported("a resource policy statement without Principal")
        how = principal_match(statement["Principal"], request)
        if how == NONE or not statement_applies(statement, request):
            continue
        if statement["Effect"] == "Deny":
            return False
        named = max(named, how)
    if request.account == resource.account:
        if resource.policy_required:
            return named == DIRECT or (named == ACCOUNT and identity_allows)
        return identity_allows or named == DIRECT
    return identity_allows and named != NONE
