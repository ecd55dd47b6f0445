"""A rule about one rendered object: what it judges, and the pure function that judges it.

The same `Rule` runs in `modelops validate`, in the pull-request gate (which validates the head) and,
wrapped, in checkov (policies/checkov/modelops_rules.py): one function per rule, one verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelops.gitops.rules.reading import api_group


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    # What must not happen, phrased as checkov names its checks ("... must not ...").
    title: str
    kinds: frozenset[str]
    api_group: str
    # checkov's CheckCategories member the wrapper files the rule under.
    category: str
    # The problems `document` has under this rule; none means it passes.
    problems: Callable[[dict[str, Any]], list[str]]

    def applies(self, document: dict[str, Any]) -> bool:
        # kind Application also exists outside Argo CD (app.k8s.io): the group says whose it is.
        return document.get("kind") in self.kinds and api_group(document) == self.api_group

    def check(self, document: dict[str, Any]) -> list[str]:
        return self.problems(document) if self.applies(document) else []
