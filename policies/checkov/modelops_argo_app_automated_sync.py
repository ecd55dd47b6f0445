"""CKV_MODELOPS_11: Argo CD syncs automatically, prunes and self-heals.

Git is the only way a release changes: without automated sync a merged promotion never reaches the
cluster, without prune a removed candidate keeps serving, without selfHeal a hand edit stays.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, argo_application_spec, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class ArgoApplicationAutomatedSync(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Application/ApplicationSet must not sync without automated prune and selfHeal",
            id="CKV_MODELOPS_11",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_entities=["Application", "ApplicationSet"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "argoproj.io":
            return CheckResult.UNKNOWN
        path, spec = argo_application_spec(conf)
        automated = get(spec, "syncPolicy", "automated")
        at = f"{path}/syncPolicy/automated"
        # Argo CD 3 can keep the block but switch it off with enabled: false.
        bad = [
            f"{at}/{field}"
            for field in ("prune", "selfHeal")
            if not isinstance(automated, dict) or automated.get(field) is not True
        ]
        if get(automated, "enabled") is False:
            bad.append(f"{at}/enabled")
        self.evaluated_keys = bad or [f"{at}/prune", f"{at}/selfHeal"]
        return CheckResult.FAILED if bad else CheckResult.PASSED


check = ArgoApplicationAutomatedSync()
