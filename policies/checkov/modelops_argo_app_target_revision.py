"""CKV_MODELOPS_12: Argo CD tracks a named revision, never HEAD or an empty one.

HEAD (and an empty targetRevision, which means HEAD) follows whatever the repository's default
branch is, so renaming or repointing it would change what every environment deploys. Templated
values (`{{ ... }}`) come from environments/*.yaml and are checked where that file is loaded.
"""

from __future__ import annotations

from typing import Any

from _modelops_k8s import api_group, argo_application_spec, get, is_template, items
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


def floating(revision: Any) -> bool:
    if is_template(revision):
        return False
    return not isinstance(revision, str) or revision.strip().upper() in ("", "HEAD")


class ArgoApplicationTargetRevision(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="Application/ApplicationSet must not track HEAD or an empty targetRevision",
            id="CKV_MODELOPS_12",
            categories=[CheckCategories.SUPPLY_CHAIN],
            supported_entities=["Application", "ApplicationSet"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "argoproj.io":
            return CheckResult.UNKNOWN
        path, spec = argo_application_spec(conf)
        revisions = []
        if get(spec, "source") is not None:
            revisions.append((f"{path}/source/targetRevision", get(spec, "source", "targetRevision")))
        revisions.extend(
            (f"{path}/sources/[{i}]/targetRevision", get(source, "targetRevision"))
            for i, source in enumerate(items(get(spec, "sources")))
        )
        # An ApplicationSet's git generator reads its parameters from a revision too.
        revisions.extend(
            (f"spec/generators/[{i}]/git/revision", get(generator, "git", "revision"))
            for i, generator in enumerate(items(get(conf, "spec", "generators")))
            if conf.get("kind") == "ApplicationSet" and get(generator, "git") is not None
        )
        bad = [key for key, revision in revisions if floating(revision)]
        # No source at all leaves nothing pinned.
        if not revisions:
            bad.append(f"{path}/source/targetRevision")
        self.evaluated_keys = bad or [key for key, _ in revisions]
        return CheckResult.FAILED if bad else CheckResult.PASSED


check = ArgoApplicationTargetRevision()
