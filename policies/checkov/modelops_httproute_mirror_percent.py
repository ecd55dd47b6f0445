"""CKV_MODELOPS_14: a shadow rollout mirrors a share of requests between 0 and 100 percent.

The API server only validates this on Gateway API versions that know the field; a controller that
receives 150 (or a fraction above 1) either rejects the whole route or mirrors everything.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get, items
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_mirror(mirror: Any) -> bool:
    """percent in [0, 100], or a fraction numerator/denominator in [0, 1]; neither means 100%."""
    if not isinstance(mirror, dict):
        return False
    percent, fraction = mirror.get("percent"), mirror.get("fraction")
    if percent is not None and not (is_int(percent) and 0 <= percent <= 100):
        return False
    if fraction is not None:
        numerator, denominator = get(fraction, "numerator"), get(fraction, "denominator")
        denominator = 100 if denominator is None else denominator
        if not (is_int(numerator) and is_int(denominator) and 0 <= numerator <= denominator > 0):
            return False
    return not (percent is not None and fraction is not None)  # the API allows only one of them


class HTTPRouteMirrorPercent(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="HTTPRoute must not mirror a RequestMirror percent outside 0-100",
            id="CKV_MODELOPS_14",
            categories=[CheckCategories.NETWORKING],
            supported_entities=["HTTPRoute"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "gateway.networking.k8s.io":
            return CheckResult.UNKNOWN
        checked, bad = [], []
        for i, rule in enumerate(items(get(conf, "spec", "rules"))):
            # Mirrors sit on the rule or on one backendRef.
            places = [(f"spec/rules/[{i}]", rule)]
            refs = enumerate(items(get(rule, "backendRefs")))
            places += [(f"spec/rules/[{i}]/backendRefs/[{j}]", ref) for j, ref in refs]
            for path, place in places:
                for k, fil in enumerate(items(get(place, "filters"))):
                    if get(fil, "type") != "RequestMirror":
                        continue
                    key = f"{path}/filters/[{k}]/requestMirror"
                    checked.append(key)
                    if not valid_mirror(get(fil, "requestMirror")):
                        bad.append(key)
        self.evaluated_keys = bad or checked or ["spec/rules"]
        return CheckResult.FAILED if bad else CheckResult.PASSED


check = HTTPRouteMirrorPercent()
