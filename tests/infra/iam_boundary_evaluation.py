"""IAM's evaluation of identity policies and a permissions boundary, for the tests' requests.

What AWS documents for one account: an explicit Deny in any policy wins; otherwise the request is
allowed only if an identity policy allows it and, when the role has a boundary, the boundary allows
it too. Actions match case-insensitively with `*` and `?`; resources and `*Like` conditions match
case-sensitively. Condition operators: String(Not)Equals, String(Not)Like, Arn(Not)Equals,
Arn(Not)Like, Bool and Null, each with `...IfExists`, and the `ForAnyValue:` / `ForAllValues:`
qualifiers. Values may hold policy variables (`${aws:PrincipalAccount}`), taken from the request's
context. An operator it does not know raises, so no test passes on a condition it ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

Decision = Literal["allow", "deny", "implicit-deny"]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)  # condition keys -> value or list of values


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _substitute(pattern: str, context: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1))
        if found is None or isinstance(found, list):
            raise KeyError(f"policy variable {match.group(0)} has no single value in the request")
        return str(found)

    return _VARIABLE.sub(value, pattern)


def _matches(pattern: str, value: str, *, case: bool) -> bool:
    if case:
        return fnmatchcase(value, pattern)
    return fnmatchcase(value.lower(), pattern.lower())


def _compare(operator: str, expected: str, actual: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual == expected if operator == "StringEquals" else fnmatchcase(actual, expected)
    if operator in ("StringLike", "ArnLike"):
        return fnmatchcase(actual, expected)
    if operator == "Bool":
        return actual.lower() == expected.lower()
    raise ValueError(f"condition operator {operator} is not evaluated here")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    present = key in context
    if operator == "Null":
        return (not present) == (str(expected).lower() == "true")
    if not present:
        # A missing key: negated operators hold, ForAllValues holds vacuously, IfExists holds.
        return if_exists or operator in _NEGATED or qualifier == "ForAllValues"
    negated = operator in _NEGATED
    base = _NEGATED.get(operator, operator)
    expected_values = [_substitute(str(v), context) for v in _as_list(expected)]
    actual_values = [str(v) for v in _as_list(context[key])]

    def any_expected(actual: str) -> bool:
        return any(_compare(base, e, actual) for e in expected_values)

    if qualifier == "ForAllValues":
        matched = all(any_expected(a) for a in actual_values)
    else:  # single-valued keys and ForAnyValue
        matched = any(any_expected(a) for a in actual_values)
    return not matched if negated else matched


def _applies(statement: dict[str, Any], request: Request) -> bool:
    if "Action" in statement:
        if not any(_matches(a, request.action, case=False) for a in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_matches(a, request.action, case=False) for a in _as_list(statement["NotAction"])):
            return False
    else:
        raise ValueError(f"statement without Action or NotAction: {statement}")
    if "Resource" in statement:
        patterns = [_substitute(r, request.context) for r in _as_list(statement["Resource"])]
        if not any(_matches(p, request.resource, case=True) for p in patterns):
            return False
    elif "NotResource" in statement:
        patterns = [_substitute(r, request.context) for r in _as_list(statement["NotResource"])]
        if any(_matches(p, request.resource, case=True) for p in patterns):
            return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, expected in pairs.items():
            if not _condition_holds(operator, key, expected, request.context):
                return False
    return True


def _statements(documents: list[Any]) -> list[dict[str, Any]]:
    found = []
    for document in documents:
        parsed = json.loads(document) if isinstance(document, str) else document
        found += _as_list(parsed["Statement"])
    return found


def _decide(documents: list[Any], request: Request) -> Decision:
    applying = [s for s in _statements(documents) if _applies(s, request)]
    if any(s["Effect"] == "Deny" for s in applying):
        return "deny"
    return "allow" if any(s["Effect"] == "Allow" for s in applying) else "implicit-deny"


def evaluate(identity: list[Any], request: Request, *, boundary: Any | None = None) -> Decision:
    """The decision for `request` made by a role with `identity` policies and an optional boundary."""
    decision = _decide(identity, request)
    if decision != "allow" or boundary is None:
        return decision
    capped = _decide([boundary], request)
    return "allow" if capped == "allow" else capped
