"""CKV_MODELOPS_9: the platform does not define or redefine Argo CD's `default` AppProject.

Argo CD creates `default` allowing every repository, destination and kind; Applications fall back
to it, so a manifest that shapes it decides what unreviewed Applications may do.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class AppProjectNotDefault(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="AppProject must not be named default",
            id="CKV_MODELOPS_9",
            categories=[CheckCategories.IAM],
            supported_entities=["AppProject"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "argoproj.io":
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["metadata/name"]
        return CheckResult.FAILED if get(conf, "metadata", "name") == "default" else CheckResult.PASSED


check = AppProjectNotDefault()
