"""CKV_MODELOPS_1: an InferenceService serves exactly one immutable artifact.

A release is the registered version the gates approved. `models:/` URIs and aliases are resolved
by the registry at load time, and `latest`-style or bucket-root paths can be overwritten, so the
pod could start a model nobody gated. A pinned location is an object-store URI whose path names an
MLflow run id, an MLflow logged-model id (`m-<32 hex>`) or a sha256 digest.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from _modelops_k8s import api_group, get
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

# Object stores KServe's storage initializer reads. http:// is refused: the artifact could be swapped
# in transit. pvc:// and hdfs:// are mutable file systems, hf:// follows a branch by default.
# file:// is an embedded registry's artifact root mounted into the cluster (local stacks, tests).
OBJECT_STORE_SCHEMES = frozenset({"s3", "gs", "https", "file"})

# Values a template or a half-finished promotion leaves behind.
PLACEHOLDER = re.compile(r"set-by|placeholder|change-?me|replace-?me|\btodo\b|\btbd\b|[<>{}$]", re.IGNORECASE)

# Path segments that name whatever was uploaded last rather than one artifact.
MUTABLE_SEGMENT = re.compile(r"latest|current|head", re.IGNORECASE)

# One of these segments makes the path immutable: MLflow never reuses run or logged-model ids.
IMMUTABLE_ID = re.compile(r"[0-9a-f]{32}|m-[0-9a-f]{32}|(sha256[:-])?[0-9a-f]{64}")


def unpinned_reason(uri: Any) -> str | None:
    """Why `uri` is not a pinned artifact location, or None when it is."""
    if not isinstance(uri, str) or not uri.strip():
        return "empty"
    if PLACEHOLDER.search(uri):
        return "placeholder"
    parts = urlsplit(uri)
    if parts.scheme not in OBJECT_STORE_SCHEMES:
        return f"scheme {parts.scheme or '(none)'} is not an object store"
    if (not parts.netloc and parts.scheme != "file") or "@" in uri:
        return "no bucket, or an alias/credentials marker '@'"
    segments = [s for s in parts.path.split("/") if s]
    if any(MUTABLE_SEGMENT.fullmatch(s.split(".")[0]) for s in segments):
        return "a mutable segment such as latest"
    if not any(IMMUTABLE_ID.fullmatch(s) for s in segments):
        return "no run id, logged-model id or digest in the path"
    return None


class InferenceServiceStorageUriPinned(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(
            name="InferenceService storageUri must not be unpinned (models:/, alias, latest, placeholder)",
            id="CKV_MODELOPS_1",
            categories=[CheckCategories.SUPPLY_CHAIN],
            supported_entities=["InferenceService"],
        )

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        if api_group(conf) != "serving.kserve.io":
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["spec/predictor/model/storageUri"]
        uri = get(conf, "spec", "predictor", "model", "storageUri")
        return CheckResult.FAILED if unpinned_reason(uri) else CheckResult.PASSED


check = InferenceServiceStorageUriPinned()
