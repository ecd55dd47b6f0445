"""MLflow registry glue: embedded by default, bounded network calls, verified artifacts."""

from modelops.registry.evaluation_sets import EvaluationSet, PinnedSet, load_pinned_set, pin_evaluation_set
from modelops.registry.manifest import build_manifest, manifest_digest
from modelops.registry.register import RegisteredVersion, register_model
from modelops.registry.tracking import configure
from modelops.registry.versions import FetchedVersion, VersionRef, fetch_version, load_verified_model

__all__ = [
    "EvaluationSet",
    "FetchedVersion",
    "PinnedSet",
    "RegisteredVersion",
    "VersionRef",
    "build_manifest",
    "configure",
    "fetch_version",
    "load_pinned_set",
    "load_verified_model",
    "manifest_digest",
    "pin_evaluation_set",
    "register_model",
]
