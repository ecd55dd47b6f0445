"""CKV_MODELOPS_2: an InferenceService runs as a RawDeployment.

The platform splits traffic between releases with an HTTPRoute; in Serverless mode Knative would
route instead and KServe's canaryTrafficPercent would silently fight the route's weights.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import annotations, api_group
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

ANNOTATION = "serving.kserve.io/deploymentMode"


class InferenceServiceRawDeployment(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="InferenceService must not run without the RawDeployment deploymentMode annotation",
            id="CKV_MODELOPS_2",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=["InferenceService"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "serving.kserve.io":
            return CheckResult.UNKNOWN
        self.evaluated_keys = [f"metadata/annotations/{ANNOTATION}"]
        mode = annotations(conf).get(ANNOTATION)
        return CheckResult.PASSED if mode == "RawDeployment" else CheckResult.FAILED


check = InferenceServiceRawDeployment()
