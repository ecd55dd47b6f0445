"""CKV_MODELOPS_5: the model container declares cpu and memory requests and limits.

Without requests the scheduler packs model pods onto nodes that cannot hold them; without limits a
large batch request can take the node's memory from its neighbours.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

REQUIRED = [(kind, resource) for kind in ("requests", "limits") for resource in ("cpu", "memory")]


class InferenceServiceModelResources(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="InferenceService model container must not omit cpu or memory requests and limits",
            id="CKV_MODELOPS_5",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=["InferenceService"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "serving.kserve.io":
            return CheckResult.UNKNOWN
        resources = get(conf, "spec", "predictor", "model", "resources")
        # A quantity is a string ("512Mi") or a number (1); bool is an int in Python but no quantity.
        missing = [
            f"spec/predictor/model/resources/{kind}/{resource}"
            for kind, resource in REQUIRED
            if not isinstance(value := get(resources, kind, resource), str | int | float)
            or isinstance(value, bool)
            or str(value).strip() in ("", "0")
        ]
        self.evaluated_keys = missing or [f"spec/predictor/model/resources/{k}/{r}" for k, r in REQUIRED]
        return CheckResult.FAILED if missing else CheckResult.PASSED


check = InferenceServiceModelResources()
