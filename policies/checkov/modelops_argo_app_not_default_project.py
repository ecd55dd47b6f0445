"""CKV_MODELOPS_10: an Application (or every Application an ApplicationSet makes) has its own project.

The `default` AppProject allows any repository, destination and kind, so an Application in it
escapes the per-environment limits the models-<env> projects set.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, argo_application_spec, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class ArgoApplicationNotDefaultProject(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Application/ApplicationSet must not use the default (or an empty) project",
            id="CKV_MODELOPS_10",
            categories=[CheckCategories.IAM],
            supported_entities=["Application", "ApplicationSet"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        # kind Application also exists outside Argo CD (app.k8s.io); those are not ours to judge.
        if api_group(conf) != "argoproj.io":
            return CheckResult.UNKNOWN
        path, spec = argo_application_spec(conf)
        self.evaluated_keys = [f"{path}/project"]
        project = get(spec, "project")
        if isinstance(project, str) and project.strip() not in ("", "default"):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = ArgoApplicationNotDefaultProject()
