"""CKV_MODELOPS_13: each HTTPRoute rule splits traffic with integer weights that add up to 100.

`modelops rollout` reads and writes the split as percentages. Gateway API weights are relative
(an omitted weight counts as 1), so 90/20 or a missing weight would still route, just not the
share the rollout recorded and the gates watch.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get, items
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def is_weight(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class HTTPRouteWeightsSumTo100(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="HTTPRoute must not have backendRefs weights that are not integers summing to 100 per rule",
            id="CKV_MODELOPS_13",
            categories=[CheckCategories.NETWORKING],
            supported_entities=["HTTPRoute"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "gateway.networking.k8s.io":
            return CheckResult.UNKNOWN
        checked, bad = [], []
        for i, rule in enumerate(items(get(conf, "spec", "rules"))):
            refs = items(get(rule, "backendRefs"))
            if not refs:
                continue  # a redirect or fixed-response rule routes to no backend
            key = f"spec/rules/[{i}]/backendRefs"
            checked.append(key)
            weights = [get(ref, "weight") for ref in refs]
            if not all(is_weight(w) for w in weights) or sum(weights) != 100:
                bad.append(key)
        self.evaluated_keys = bad or checked or ["spec/rules"]
        return CheckResult.FAILED if bad else CheckResult.PASSED


check = HTTPRouteWeightsSumTo100()
