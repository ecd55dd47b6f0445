"""A small evaluator of AWS IAM policies, for the tests' requests: one place for AWS's decision.

Why here and not a library: moto (a dependency already) evaluates policies for its mock services,
but only `StringEquals` among condition operators and ignores the others (so it answers yes to a
condition it cannot read), treats a statement whose condition fails as an explicit deny, matches
principals other than `*` not at all, and checks an S3 bucket policy without its principal. No
package in the registry lists evaluates identity and resource policies together with AWS's
cross-account rule. This module covers what the platform's documents use and refuses the rest:

- Policies: identity policies, an optional resource policy (a bucket or key policy) and an
  optional permissions boundary, as JSON text or parsed. Statements: `Effect`,
  `Action`/`NotAction`, `Resource`/`NotResource`, `Principal` (resource policies only),
  `Condition`. `NotPrincipal` raises `Unsupported`.
- Wildcards: `*` (any run of characters) and `?` (one character). Actions compare without
  regard to case, resources with it. In a resource ARN (and `Arn*` conditions) a wildcard stays
  inside its colon-separated segment, except a `*` that ends a segment, which may reach past
  colons (the IAM user guide, "Resource": "Using wildcards in resource ARNs").
- Policy variables (`${aws:PrincipalAccount}`) in `Resource`/`NotResource` and condition values,
  in documents of version 2012-10-17, taken from the request context and matched literally (a
  `*` in a tag value is no wildcard). A variable the request has no single value for raises.
- Principals: `"*"`, `{"AWS": "*"}`, an account (`123456789012` or `arn:aws:iam::123456789012:root`,
  which delegates to that account's IAM policies), a role ARN. Service and federated principals
  never match a role.
- Conditions: `String(Not)Equals`, `String(Not)Like`, `Arn(Not)Equals`, `Arn(Not)Like`, `Bool`,
  each also as `...IfExists`, `Null`, and the `ForAnyValue:`/`ForAllValues:` qualifiers. Several
  values of one key are ORed (NORed for a negated operator), keys and operators ANDed; condition
  keys compare without regard to case. A key absent from the request fails the positive
  operators and passes the negated ones, `...IfExists` and `ForAllValues`. Any other operator
  raises `Unsupported`: an evaluator that skipped a condition could say yes wrongly.
- Decision (the IAM user guide, "Policy evaluation logic", "Cross-account policy evaluation
  logic", "Permissions boundaries for IAM entities"): an explicit Deny in any policy wins. Within
  one account, an Allow in the identity policies or one that names the principal itself in the
  resource policy suffices; a resource policy naming the account only delegates, so the identity
  policies must allow. A KMS key policy must allow in every case (a key's policy is its root of
  trust). Across accounts, both the identity policies and the resource policy must allow. A
  boundary must allow too: the principal is a role, and a resource policy's grant to a role ARN
  is capped by its boundary just as an identity policy's is.

Not modelled (the documents under test use none): SCPs, session policies, ACLs, VPC endpoint
policies, role-session principals, numeric/date/IP operators.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "explicit-deny", "implicit-deny"]
ContextValue = str | list[str]

ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/(.+)")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLES_VERSION = "2012-10-17"  # the only policy language version that reads ${...} as a variable


class Unsupported(ValueError):
    """A policy or request uses something this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict[str, ContextValue] = field(default_factory=dict)  # condition key -> value(s)
    # The role ARN a session belongs to (arn:aws:iam::<account>:role/<name>); needed whenever a
    # resource policy takes part, optional for identity-and-boundary questions.
    principal: str | None = field(default=None, kw_only=True)

    @property
    def account(self) -> str:
        if self.principal is None:
            raise Unsupported("a request without a principal cannot be evaluated against a resource policy")
        match = ROLE_ARN.fullmatch(self.principal)
        if match is None:
            raise Unsupported(f"principal {self.principal!r} is not a role ARN")
        return match.group(1)

    def values(self) -> dict[str, ContextValue]:
        """The request context keyed in lower case (keys are case-insensitive): what the caller
        gave, plus the keys AWS sets for every request. A given key that contradicts the
        principal raises rather than lets the caller pose as someone else."""
        derived: dict[str, str] = {}
        if self.principal is not None:
            derived = {"aws:principalarn": self.principal, "aws:principalaccount": self.account}
        found: dict[str, ContextValue] = {}
        for key, value in self.context.items():
            lowered = key.lower()
            if lowered in derived and value != derived[lowered]:
                raise Unsupported(f"context {key}={value!r} contradicts the principal {self.principal}")
            if lowered in found:
                raise Unsupported(f"context key {key} is given twice (keys ignore case)")
            found[lowered] = value
        return {"aws:securetransport": "true", **found, **derived}


@dataclass(frozen=True)
class Resource:
    arn: str
    account: str  # the owning account
    policy: str | Mapping[str, Any] | None = None  # the bucket policy or key policy
    policy_required: bool = False  # a KMS key: nothing is allowed unless its key policy allows


# --- matching ------------------------------------------------------------------------------------


def _substitute(text: str, context: Mapping[str, ContextValue] | None) -> list[tuple[str, bool]]:
    """`text` as (character, is_pattern) pairs: a variable's value is literal, never a wildcard."""
    if context is None:
        if "${" in text:
            raise Unsupported(f"policy variables are not evaluated here: {text!r}")
        return [(char, True) for char in text]
    out: list[tuple[str, bool]] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        out += [(char, True) for char in text[position : match.start()]]
        value = context.get(match.group(1).lower())
        if not isinstance(value, str):
            raise Unsupported(f"policy variable {match.group(0)} has no single value in the request")
        out += [(char, False) for char in value]
        position = match.end()
    return out + [(char, True) for char in text[position:]]


def _pattern(glob: str, *, in_arn: bool, context: Mapping[str, ContextValue] | None = None) -> str:
    chars = _substitute(glob, context)
    out = []
    for index, (char, is_pattern) in enumerate(chars):
        if is_pattern and char == "*":
            ends_segment = index + 1 == len(chars) or chars[index + 1][0] == ":"
            out.append(".*" if not in_arn or ends_segment else "[^:]*")
        elif is_pattern and char == "?":
            out.append("[^:]" if in_arn else ".")
        else:
            out.append(re.escape(char))
    return "".join(out)


def action_matches(pattern: str, action: str) -> bool:
    return re.fullmatch(_pattern(pattern, in_arn=False), action, flags=re.IGNORECASE | re.DOTALL) is not None


def resource_matches(pattern: str, arn: str, *, context: Mapping[str, ContextValue] | None = None) -> bool:
    """`context` (lower-cased keys, as `Request.values`) fills policy variables; without it they raise."""
    return re.fullmatch(_pattern(pattern, in_arn=True, context=context), arn, flags=re.DOTALL) is not None


def string_like(pattern: str, value: str, *, context: Mapping[str, ContextValue] | None = None) -> bool:
    return re.fullmatch(_pattern(pattern, in_arn=False, context=context), value, flags=re.DOTALL) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- conditions ----------------------------------------------------------------------------------


def _literal(expected: str, context: Mapping[str, ContextValue]) -> str:
    return "".join(char for char, _ in _substitute(expected, context))


_COMPARE: dict[str, Callable[[str, str, Mapping[str, ContextValue]], bool]] = {
    "StringEquals": lambda expected, actual, ctx: actual == _literal(expected, ctx),
    "StringLike": lambda expected, actual, ctx: string_like(expected, actual, context=ctx),
    # ArnEquals and ArnLike behave alike: both take wildcards, segment by segment.
    "ArnEquals": lambda expected, actual, ctx: resource_matches(expected, actual, context=ctx),
    "ArnLike": lambda expected, actual, ctx: resource_matches(expected, actual, context=ctx),
    "Bool": lambda expected, actual, ctx: _literal(expected, ctx).lower() == actual.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_QUALIFIERS = ("", "ForAnyValue", "ForAllValues")


def condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, ContextValue]) -> bool:
    """One operator on one key; `context` keyed in lower case (`Request.values`)."""
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in _QUALIFIERS:
        raise Unsupported(f"condition qualifier {qualifier} is not evaluated")
    if "${" in key:
        raise Unsupported(f"a policy variable in condition key {key} is not evaluated")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    negated = name in _NEGATED
    base = _NEGATED.get(name, name)
    if base not in _COMPARE and base != "Null":
        raise Unsupported(f"condition operator {operator} is not evaluated")
    actual = context.get(key.lower())
    if base == "Null":
        if qualifier or if_exists:
            raise Unsupported(f"condition operator {operator} is not evaluated")
        return (actual is None) == (str(expected).lower() == "true")
    if actual is None:
        if qualifier == "ForAnyValue" and negated:
            # AWS documents both "a missing key passes a negated operator" and "ForAnyValue fails
            # on a missing key"; which wins is not documented, so no answer is guessed.
            raise Unsupported(f"{operator} on the missing key {key}")
        return if_exists or negated or qualifier == "ForAllValues"
    expected_values = [e if isinstance(e, str) else json.dumps(e) for e in _as_list(expected)]

    def holds_for(value: str) -> bool:
        """The operator on one request value: any policy value matches (none, when negated)."""
        matched = any(_COMPARE[base](e, value, context) for e in expected_values)
        return not matched if negated else matched

    values = _as_list(actual)
    if qualifier == "ForAllValues":
        return all(holds_for(v) for v in values)
    return any(holds_for(v) for v in values)  # a single-valued key, or ForAnyValue


def conditions_hold(conditions: Mapping[str, Any] | None, context: Mapping[str, ContextValue]) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, pairs in (conditions or {}).items()
        for key, expected in pairs.items()
    )


# --- statements and the decision -----------------------------------------------------------------


def _statements(document: str | Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not document:
        return []
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = _as_list(parsed.get("Statement", []))
    if parsed.get("Version") != _VARIABLES_VERSION and "${" in json.dumps(statements):
        # Older versions read ${...} as literal text; substituting would grant what AWS does not.
        raise Unsupported(f"policy variables in a document of version {parsed.get('Version')!r}")
    for statement in statements:
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise Unsupported(f"statement effect {statement.get('Effect')!r}")
        if "NotPrincipal" in statement:
            raise Unsupported("NotPrincipal")
        if ("Action" in statement) == ("NotAction" in statement):
            raise Unsupported(f"a statement needs exactly one of Action and NotAction: {statement}")
        if ("Resource" in statement) == ("NotResource" in statement):
            raise Unsupported(f"a statement needs exactly one of Resource and NotResource: {statement}")
    return statements


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Action, resource and conditions (not the principal) select the request."""
    context = request.values()
    for element in ("Action", "NotAction"):
        if "${" in json.dumps(statement.get(element, "")):
            raise Unsupported(f"policy variables in {element}")
    if "Action" in statement:
        acts = any(action_matches(p, request.action) for p in _as_list(statement["Action"]))
    else:
        acts = not any(action_matches(p, request.action) for p in _as_list(statement["NotAction"]))
    if "Resource" in statement:
        on = any(
            resource_matches(p, request.resource, context=context) for p in _as_list(statement["Resource"])
        )
    else:
        patterns = _as_list(statement["NotResource"])
        on = not any(resource_matches(p, request.resource, context=context) for p in patterns)
    return acts and on and conditions_hold(statement.get("Condition"), context)


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


def _identity_effects(documents: list[Any], request: Request) -> set[str]:
    """The effects of the statements of principal-less documents (identity, boundary) that apply."""
    effects = set()
    for statement in (s for document in documents for s in _statements(document)):
        if "Principal" in statement:
            raise Unsupported("an identity policy or boundary names no principal")
        if statement_applies(statement, request):
            effects.add(statement["Effect"])
    return effects


def decide(
    request: Request,
    *,
    identity: list[Any],
    resource: Resource | None = None,
    boundary: str | Mapping[str, Any] | None = None,
) -> Decision:
    """AWS's decision for `request` by a session of its role, holding the `identity` policies,
    capped by `boundary` if the role has one, on a resource with or without its own policy."""
    identity_effects = _identity_effects(identity, request)
    boundary_effects = _identity_effects([boundary], request) if boundary is not None else {"Allow"}
    named, resource_denies = NONE, False
    for statement in _statements(resource.policy if resource is not None else None):
        if "Principal" not in statement:
            raise Unsupported("a resource policy statement without Principal")
        how = principal_match(statement["Principal"], request)
        if how == NONE or not statement_applies(statement, request):
            continue
        if statement["Effect"] == "Deny":
            resource_denies = True
        else:
            named = max(named, how)
    if resource_denies or "Deny" in identity_effects | boundary_effects:
        return "explicit-deny"
    identity_allows = "Allow" in identity_effects
    if resource is None:
        allowed = identity_allows
    elif request.account != resource.account:
        allowed = identity_allows and named != NONE
    elif resource.policy_required:
        allowed = named == DIRECT or (named == ACCOUNT and identity_allows)
    else:
        allowed = identity_allows or named == DIRECT
    return "allow" if allowed and "Allow" in boundary_effects else "implicit-deny"


def is_allowed(
    request: Request,
    *,
    identity: list[Any],
    resource: Resource | None = None,
    boundary: str | Mapping[str, Any] | None = None,
) -> bool:
    return decide(request, identity=identity, resource=resource, boundary=boundary) == "allow"
