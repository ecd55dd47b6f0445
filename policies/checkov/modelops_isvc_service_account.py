"""CKV_MODELOPS_4: an InferenceService runs under its own service account.

The storage initializer reads the artifact with the pod's identity (IRSA on EKS); the namespace's
`default` account would hand that read access to every other pod in the namespace.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class InferenceServiceDedicatedServiceAccount(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="InferenceService must not run under an empty or the default serviceAccountName",
            id="CKV_MODELOPS_4",
            categories=[CheckCategories.IAM],
            supported_entities=["InferenceService"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "serving.kserve.io":
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["spec/predictor/serviceAccountName"]
        account = get(conf, "spec", "predictor", "serviceAccountName")
        if isinstance(account, str) and account.strip() and account.strip() != "default":
            return CheckResult.PASSED
        return CheckResult.FAILED


check = InferenceServiceDedicatedServiceAccount()
