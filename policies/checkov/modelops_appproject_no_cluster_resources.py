"""CKV_MODELOPS_8: an AppProject may not create cluster-scoped resources.

Namespaces, their Pod Security labels, CRDs and RBAC are the platform's (infra/); a model release
that could sync a ClusterRole or relabel its namespace could lift its own restrictions.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class AppProjectNoClusterResources(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="AppProject must not whitelist cluster-scoped resources in clusterResourceWhitelist",
            id="CKV_MODELOPS_8",
            categories=[CheckCategories.IAM],
            supported_entities=["AppProject"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "argoproj.io":
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["spec/clusterResourceWhitelist"]
        # Absent and [] both allow nothing; anything else (even a malformed value) is refused.
        whitelist = get(conf, "spec", "clusterResourceWhitelist")
        return CheckResult.PASSED if whitelist in (None, []) else CheckResult.FAILED


check = AppProjectNoClusterResources()
