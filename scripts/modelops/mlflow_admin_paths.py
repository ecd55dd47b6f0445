"""Which of MLflow's paths administer it, and whether an HTTPRoute's rules keep them off a public address.

One rule, used by the registry's ingress builder (infra) to write its route and by CrossGuard to refuse
a route that forwards them, so the two cannot disagree. Standard library only: the policy pack imports
it too.

MLflow's basic-auth app (`--app-name basic-auth`, MLflow 3.17: `mlflow/server/auth/routes.py`) serves its
user and role administration under `/mlflow/users/...` and `/mlflow/roles/...`, each path under both the
REST prefix (`/api/2.0`, `/api/3.0`) and the UI's (`/ajax-api/2.0`, `/ajax-api/3.0`), plus the `/signup`
page. Earlier releases (MLflow 2, and 3 before its roles) served per-resource grants under
`/mlflow/experiments/permissions/...` and `/mlflow/registered-models/permissions/...`; those are kept off
too, so an older server image behind the same route opens nothing. Two read-only paths under the users
prefix are the signed-in person's own (who am I, what may I do) and MLflow's UI reads them on every
page: `SELF_SERVICE_PATHS`, forwarded by exact match.

`admin_paths_forwarded` judges a route's rules as Gateway API orders them (HTTPRoute spec, "matching
precedence"): an Exact path match first, then the PathPrefix with the most characters; a prefix matches
whole path segments (`/abc` matches `/abc/d`, never `/abcd`); a rule without matches is `PathPrefix /`.
It assumes the paths reach it normalised (no `//`, no dot segments, no escaped slashes), which the
Gateway's ClientTrafficPolicy ensures, and fails closed on what it cannot order: a RegularExpression
match, or a denying match no more specific than the forwarding one it must win against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

_API_ROOTS = tuple(f"/{api}/{version}/mlflow" for api in ("api", "ajax-api") for version in ("2.0", "3.0"))
_ADMIN_AREAS = ("users", "roles", "experiments/permissions", "registered-models/permissions")

# Every path under one of these administers MLflow's users, roles or grants.
ADMIN_PATH_PREFIXES: tuple[str, ...] = (
    *(f"{root}/{area}" for root in _API_ROOTS for area in _ADMIN_AREAS),
    "/signup",
)
# The signed-in person's own identity and permissions: read-only, and read by MLflow's UI.
SELF_SERVICE_PATHS: tuple[str, ...] = (
    "/api/2.0/mlflow/users/current",
    "/ajax-api/2.0/mlflow/users/current",
    "/api/3.0/mlflow/users/current/permissions",
    "/ajax-api/3.0/mlflow/users/current/permissions",
)


def is_admin_path(path: str) -> bool:
    """Whether MLflow serves administration at `path` (a normalised request path)."""
    return path not in SELF_SERVICE_PATHS and any(_under(path, prefix) for prefix in ADMIN_PATH_PREFIXES)


def _under(path: str, prefix: str) -> bool:
    """Gateway API PathPrefix semantics: whole segments, a trailing slash on the prefix ignored."""
    base = prefix.rstrip("/")
    return base == "" or path == base or path.startswith(base + "/")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _path_matches(rule: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], tuple[str, str]]]:
    """(match, (type, value)) for each of the rule's matches; none is every path, `PathPrefix /`."""
    matches = [_mapping(m) for m in _list(rule.get("matches"))] or [{}]
    out = []
    for match in matches:
        path = _mapping(match.get("path"))
        out.append((match, (str(path.get("type", "PathPrefix")), str(path.get("value", "/")))))
    return out


def _path_only(match: Mapping[str, Any]) -> bool:
    """A match on the path alone: one with a header, query or method condition denies only sometimes."""
    return not any(match.get(key) for key in ("headers", "queryParams", "method"))


def admin_paths_forwarded(
    rules: Iterable[Mapping[str, Any]], *, forwards: Callable[[Mapping[str, Any]], bool]
) -> list[str]:
    """Why the HTTPRoute `rules` may forward an admin path, one line each; [] when none can.

    `forwards(rule)` says whether a rule sends its requests to MLflow (a backendRef or a mirror).
    A forwarding match reaches the admin area when it lies in it (an Exact path other than the
    self-service ones, a PathPrefix inside an admin prefix) or covers it (a PathPrefix above an
    admin prefix, such as `/`) and no non-forwarding rule matches that admin prefix, by path alone,
    with a strictly longer PathPrefix or an Exact path.
    """
    rules = [_mapping(rule) for rule in rules]
    denials = [
        (kind, value)
        for rule in rules
        if not forwards(rule)
        for match, (kind, value) in _path_matches(rule)
        if _path_only(match)
    ]
    problems = []
    for rule in (r for r in rules if forwards(r)):
        for _, (kind, value) in _path_matches(rule):
            where = f"rule {rule.get('name') or '(unnamed)'} ({kind} {value})"
            if kind == "Exact":
                if is_admin_path(value):
                    problems.append(f"{where} forwards MLflow's administration path {value}")
            elif kind != "PathPrefix":
                problems.append(f"{where}: a {kind} match cannot be shown to leave the admin paths out")
            else:
                for prefix in ADMIN_PATH_PREFIXES:
                    if _under(value, prefix):
                        problems.append(f"{where} forwards MLflow's administration under {prefix}")
                    elif _under(prefix, value) and not _denied(prefix, value, denials):
                        problems.append(
                            f"{where} forwards MLflow's administration under {prefix}: no rule that "
                            "forwards nowhere matches it more specifically"
                        )
    return problems


def _denied(admin_prefix: str, forwarding_prefix: str, denials: list[tuple[str, str]]) -> bool:
    """Whether a denying PathPrefix covers `admin_prefix` and outranks `forwarding_prefix`."""
    longer = len(forwarding_prefix.rstrip("/"))
    return any(
        kind == "PathPrefix" and _under(admin_prefix, value) and len(value.rstrip("/")) > longer
        for kind, value in denials
    )
