"""CKV_MODELOPS_7: an AppProject names its source repositories and destinations exactly.

A `*` in sourceRepos lets any repository's manifests in; a `*` in a destination server or
namespace lets an Application sync into another environment's namespace or cluster.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, get, items
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def has_wildcard(value: Any) -> bool:
    return isinstance(value, str) and "*" in value


class AppProjectNoWildcards(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="AppProject must not use * in sourceRepos or destinations",
            id="CKV_MODELOPS_7",
            categories=[CheckCategories.IAM],
            supported_entities=["AppProject"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "argoproj.io":
            return CheckResult.UNKNOWN
        spec = get(conf, "spec")
        repos = enumerate(items(get(spec, "sourceRepos")))
        bad = [f"spec/sourceRepos/[{i}]" for i, repo in repos if has_wildcard(repo)]
        for i, destination in enumerate(items(get(spec, "destinations"))):
            bad.extend(
                f"spec/destinations/[{i}]/{field}"
                for field in ("server", "name", "namespace")
                if has_wildcard(get(destination, field))
            )
        self.evaluated_keys = bad or ["spec/sourceRepos", "spec/destinations"]
        return CheckResult.FAILED if bad else CheckResult.PASSED


check = AppProjectNoWildcards()
