"""The verdicts a model's versions carry: what the precedent gate reads back."""

from __future__ import annotations

import json
import re

from modelops.errors import InputError
from modelops.gates.precedent import EarlierVerdict
from modelops.registry import tags
from modelops.registry.errors import registry_errors

# A registered model's name as it may appear quoted in a search filter.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _manifest(raw: str | None) -> dict[str, str]:
    try:
        manifest = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in manifest.items()} if isinstance(manifest, dict) else {}


def blocked_versions(model: str, environment: str) -> list[EarlierVerdict]:
    """Every version of `model` whose recorded verdict for `environment` is `failed`."""
    import mlflow

    if not _NAME.match(model):
        raise InputError(f"model name {model!r}: only letters, digits, '.', '_' and '-'")
    client = mlflow.MlflowClient()
    found, token = [], None
    with registry_errors(f"model {model} verdicts"):
        while True:
            page = client.search_model_versions(f"name = '{model}'", max_results=1000, page_token=token)
            found += list(page)
            token = page.token
            if not token:
                break
    blocked = []
    for version in found:
        version_tags = dict(version.tags or {})
        if version_tags.get(tags.gate(environment)) != "failed":
            continue
        failed = version_tags.get(tags.gate_failed(environment))
        blocked.append(
            EarlierVerdict(
                version=str(version.version),
                artifact_digest=version_tags.get(tags.ARTIFACT_DIGEST, ""),
                manifest=_manifest(version_tags.get(tags.ARTIFACT_MANIFEST)),
                failed_gates=frozenset(failed.split(",")) if failed is not None else None,
                policy_digest=version_tags.get(tags.gate_policy(environment)),
                gate_run_id=version_tags.get(tags.gate_run(environment), ""),
            )
        )
    return blocked
