"""Resolving a registered version into the release an overlay pins."""

from __future__ import annotations

from modelops.errors import InputError
from modelops.gitops.releases.transitions import Release
from modelops.registry import tags
from modelops.registry.errors import registry_errors


def resolve_release(model: str, version: str) -> tuple[Release, dict[str, str]]:
    """The version's immutable artifact location and manifest digest, plus its tags."""
    import mlflow

    client = mlflow.MlflowClient()
    what = f"model {model} version {version}"
    with registry_errors(what):
        found = client.get_model_version(model, version)
        uri = client.get_model_version_download_uri(model, version)
    version_tags = dict(found.tags or {})
    digest = version_tags.get(tags.ARTIFACT_DIGEST)
    if not digest:
        raise InputError(f"{what}: no {tags.ARTIFACT_DIGEST} tag; register it with `modelops register`")
    return Release(version=str(found.version), storage_uri=uri, digest=digest), version_tags
