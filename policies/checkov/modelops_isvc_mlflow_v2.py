"""CKV_MODELOPS_3: an InferenceService serves an MLflow model over the Open Inference Protocol (v2).

The registry exports MLflow models and the gateway routes `/v2/models/...`; any other format or
protocol picks a different serving runtime, which answers on other paths or not at all.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class InferenceServiceMlflowV2(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="InferenceService must not serve anything but modelFormat mlflow over protocolVersion v2",
            id="CKV_MODELOPS_3",
            categories=[CheckCategories.CONVENTION],
            supported_entities=["InferenceService"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "serving.kserve.io":
            return CheckResult.UNKNOWN
        model = get(conf, "spec", "predictor", "model")
        expected = {"modelFormat/name": "mlflow", "protocolVersion": "v2"}
        keys = {field: f"spec/predictor/model/{field}" for field in expected}
        wrong = [keys[f] for f, value in expected.items() if get(model, *f.split("/")) != value]
        self.evaluated_keys = wrong or list(keys.values())
        return CheckResult.FAILED if wrong else CheckResult.PASSED


check = InferenceServiceMlflowV2()
