"""CKV_MODELOPS_6: every InferenceService container meets Pod Security Standards "restricted".

The model namespaces enforce `pod-security.kubernetes.io/enforce: restricted`, so a non-compliant
InferenceService is accepted by the API server while KServe's Deployment then fails to create pods:
the release looks synced in Argo CD and serves nothing. checkov's built-in container checks never
see these containers because they live inside a custom resource.

A container passes when (container field, else the pod-level field for the inherited ones):
allowPrivilegeEscalation is false, privileged is not true, capabilities drop ALL and add at most
NET_BIND_SERVICE, runAsNonRoot is true, runAsUser is not 0, seccompProfile is RuntimeDefault or
Localhost.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get, items, kserve_pods
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


def violations(path: str, container: Any, pod: dict[str, Any]) -> list[str]:
    """The securityContext fields of one container that break the restricted profile."""
    own = get(container, "securityContext")
    own = own if isinstance(own, dict) else {}
    inherited = pod.get("securityContext")
    inherited = inherited if isinstance(inherited, dict) else {}

    def effective(field: str) -> Any:
        # Kubernetes applies the container's value when set, else the pod's.
        return own[field] if own.get(field) is not None else inherited.get(field)

    bad = []
    at = f"{path}/securityContext"
    if own.get("allowPrivilegeEscalation") is not False:
        bad.append(f"{at}/allowPrivilegeEscalation")
    if own.get("privileged") is True:
        bad.append(f"{at}/privileged")
    if "ALL" not in items(get(own, "capabilities", "drop")):
        bad.append(f"{at}/capabilities/drop")
    if not set(items(get(own, "capabilities", "add"))) <= ALLOWED_ADDED_CAPABILITIES:
        bad.append(f"{at}/capabilities/add")
    if effective("runAsNonRoot") is not True:
        bad.append(f"{at}/runAsNonRoot")
    if effective("runAsUser") == 0:
        bad.append(f"{at}/runAsUser")
    if get(effective("seccompProfile"), "type") not in ALLOWED_SECCOMP:
        bad.append(f"{at}/seccompProfile/type")
    return bad


class InferenceServiceRestrictedSecurityContext(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="InferenceService containers must not run outside the restricted Pod Security Standard",
            id="CKV_MODELOPS_6",
            categories=[CheckCategories.KUBERNETES],
            supported_entities=["InferenceService"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "serving.kserve.io":
            return CheckResult.UNKNOWN
        checked, bad = [], []
        for _, pod, containers in kserve_pods(conf):
            for path, container in containers:
                checked.append(f"{path}/securityContext")
                bad.extend(violations(path, container, pod))
        # No container at all is a broken resource, not a compliant one.
        self.evaluated_keys = bad or checked or ["spec/predictor/model/securityContext"]
        return CheckResult.PASSED if checked and not bad else CheckResult.FAILED


check = InferenceServiceRestrictedSecurityContext()
