"""Precedent gate: an artifact blocked for an environment stays blocked there under the same policy.

Registering the very same files again (or the same model file under a new MLmodel) as a new
version must not buy a second verdict: the earlier block is inherited, with the earlier verdict
named, until the environment's policy changes. Only blocks the artifact earned count: a gate
judged on the model and the platform's evaluation set (integrity, evaluation, fairness, latency),
not one owed to the order of promotions (ladder) or to a release's pin.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelops.gates.result import GateResult

# Gates whose verdict belongs to the artifact, whatever version number it is registered under.
ARTIFACT_GATES = frozenset({"integrity", "evaluation", "fairness", "latency"})
# Of those, the ones the model file alone decides. Integrity judges every file of the artifact (code
# beside the weights, the MLmodel): a block for a forged wrapper says nothing of the same weights in a
# clean one, and judging that again is deterministic, so only the very same artifact inherits it.
MODEL_FILE_GATES = ARTIFACT_GATES - {"integrity"}


@dataclass(frozen=True)
class EarlierVerdict:
    """A version's recorded block for one environment."""

    version: str
    artifact_digest: str
    manifest: Mapping[str, str]  # {file: sha256} as registered
    failed_gates: frozenset[str] | None  # None: recorded before failed gates were
    policy_digest: str | None  # None: recorded before policies were digested
    gate_run_id: str


def policy_digest(*policies: Any) -> str:
    """One digest for the policies a verdict was made under (pydantic models or plain data)."""
    plain = [p.model_dump(mode="json") if hasattr(p, "model_dump") else p for p in policies]
    canonical = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def model_files(manifest: Mapping[str, str]) -> set[str]:
    """The sha256 of the model file(s) in a manifest: the weights, whatever MLmodel says around them."""
    return {digest for path, digest in manifest.items() if path.endswith(".skops")}


def _same_artifact(earlier: EarlierVerdict, artifact_digest: str, manifest: Mapping[str, str]) -> str | None:
    if earlier.artifact_digest and earlier.artifact_digest == artifact_digest:
        return "the same artifact"
    if model_files(earlier.manifest) & model_files(manifest):
        return "the same model file"
    return None


def check_precedent(
    *,
    environment: str,
    artifact_digest: str,
    manifest: Mapping[str, str],
    earlier: Sequence[EarlierVerdict],
    current_policy: str,
) -> GateResult:
    """Fail when an earlier version with this artifact was blocked here by an artifact gate under the
    policy in force now (or one recorded without a digest, which cannot show it changed)."""
    reasons, matches = [], []
    for verdict in earlier:
        same = _same_artifact(verdict, artifact_digest, manifest)
        if same is None:
            continue
        inheritable = ARTIFACT_GATES if same == "the same artifact" else MODEL_FILE_GATES
        earned = verdict.failed_gates is None or bool(verdict.failed_gates & inheritable)
        unchanged = verdict.policy_digest in (None, current_policy)
        matches.append(
            {
                "version": verdict.version,
                "match": same,
                "gate_run_id": verdict.gate_run_id,
                "failed_gates": sorted(verdict.failed_gates) if verdict.failed_gates is not None else None,
                "policy_unchanged": unchanged,
                "inherited": earned and unchanged,
            }
        )
        if earned and unchanged:
            gates = ", ".join(sorted(verdict.failed_gates & inheritable)) if verdict.failed_gates else "?"
            reasons.append(
                f"{same} as v{verdict.version}, blocked for {environment} by gate run "
                f"{verdict.gate_run_id or 'unknown'} ({gates}) under the same policy: that verdict stands"
            )
    return GateResult(
        "precedent", not reasons, tuple(reasons), {"policy": current_policy, "earlier": matches}
    )
