"""The platform's rules about single objects, registered with checkov: one check per rule.

Each check is a thin wrapper: it hands the object to the rule's function in
`modelops.gitops.rules` (the same function `modelops validate` and the pull-request gate call) and
reports that function's verdict under the rule's id. No rule is written here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

# checkov runs in its own environment: the rules come from this repository's package, which needs
# nothing beyond the standard library to judge an object.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from modelops.gitops.rules.catalogue import OBJECT_RULES
from modelops.gitops.rules.rule import Rule

# checkov's YAML loader adds these to every mapping it parses.
LINE_KEYS = frozenset({"__startline__", "__endline__"})


def as_rendered(node: Any) -> Any:
    """The object as kustomize rendered it, without what checkov's loader added."""
    if isinstance(node, dict):
        return {k: as_rendered(v) for k, v in node.items() if k not in LINE_KEYS}
    if isinstance(node, list):
        return [as_rendered(v) for v in node]
    return node


def with_annotations_merged(document: dict[str, Any]) -> dict[str, Any]:
    # checkov rewrites every resource's annotations into a list of one-entry mappings while it
    # collects `checkov.io/skip` annotations, before the checks run.
    annotations = (document.get("metadata") or {}).get("annotations")
    if isinstance(annotations, list):
        merged = {k: v for part in annotations if isinstance(part, dict) for k, v in part.items()}
        document = {**document, "metadata": {**document["metadata"], "annotations": merged}}
    return document


class PlatformRule(BaseK8Check):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        super().__init__(
            name=rule.title,
            id=rule.id,
            categories=[CheckCategories[rule.category]],
            supported_entities=sorted(rule.kinds),
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        document = with_annotations_merged(as_rendered(conf))
        if not self.rule.applies(document):
            return CheckResult.UNKNOWN
        return CheckResult.FAILED if self.rule.problems(document) else CheckResult.PASSED


checks = [PlatformRule(rule) for rule in OBJECT_RULES]
