"""Every rule about one object, in one list: what `modelops validate` (and so the pull-request gate)
runs on each rendered object, and what policies/checkov/modelops_rules.py registers with checkov."""

from __future__ import annotations

from typing import Any

from modelops.gitops.rules import argocd, releases, served_model, serving_security, traffic
from modelops.gitops.rules.rule import Rule

OBJECT_RULES: tuple[Rule, ...] = (
    *releases.RULES,
    *serving_security.RULES,
    *served_model.RULES,
    *traffic.RULES,
    *argocd.RULES,
)


def object_problems(document: dict[str, Any]) -> list[tuple[Rule, str]]:
    """(rule, problem) for every rule `document` breaks."""
    return [(rule, problem) for rule in OBJECT_RULES for problem in rule.check(document)]


def failing_rules(document: dict[str, Any]) -> set[str]:
    return {rule.id for rule, _ in object_problems(document)}
