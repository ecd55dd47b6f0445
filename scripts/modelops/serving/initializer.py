"""What the verifying storage initializer agrees with KServe and infra/ on, importable without its
dependencies (infra/ builds the ClusterStorageContainer from these; fetch_verified.py reads them)."""

from __future__ import annotations

from modelops.gitops.repository.layout import DIGEST_ANNOTATION
from modelops.gitops.rules.releases import OBJECT_STORE_SCHEMES

# The container's command; KServe appends SRC_URI and DEST_DIR as its arguments.
COMMAND = ("python", "-m", "modelops.serving.fetch_verified")
# Filled from the pod's annotation through the downward API: KServe copies the InferenceService's
# annotations onto the predictor's pods.
DIGEST_ENV = "MODELOPS_ARTIFACT_DIGEST"
DIGEST_FIELD_PATH = f"metadata.annotations['{DIGEST_ANNOTATION}']"
# Every storage URI the release rules admit goes to the verifier, including the schemes it cannot
# read (gs://, https://): refused there, a release never falls through to an initializer that
# does not verify.
CLAIMED_URI_PREFIXES = tuple(f"{scheme}://" for scheme in OBJECT_STORE_SCHEMES)
