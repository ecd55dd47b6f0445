"""Schema and integrity gate: the artifact is the one registered, safe to load, and fits the data.

Inputs are plain facts gathered at the edge (digests, the MLmodel's serialization
format, the types skops would have to trust, the signature and the data's columns);
this module only decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelops.gates.result import GateResult

SAFE_FORMAT = "skops"

# MLflow column types and the data kinds that fit them without losing information.
_COMPATIBLE = {
    "double": {"float", "integer"},
    "float": {"float", "integer"},
    "long": {"integer"},
    "integer": {"integer"},
    "boolean": {"boolean"},
    "string": {"string"},
}


def data_kind(dtype: object) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return str(dtype)


def compare_manifests(registered: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    reasons = [f"artifact file {path} is missing" for path in sorted(set(registered) - set(actual))]
    reasons += [
        f"artifact file {path} is not in the registered manifest"
        for path in sorted(set(actual) - set(registered))
    ]
    reasons += [
        f"artifact file {path} has sha256 {actual[path][:12]}..., registered {registered[path][:12]}..."
        for path in sorted(set(registered) & set(actual))
        if registered[path] != actual[path]
    ]
    return reasons


def compare_signature(signature: Sequence[tuple[str, str]], data_kinds: Mapping[str, str]) -> list[str]:
    reasons = []
    for column, expected in signature:
        if column not in data_kinds:
            reasons.append(f"signature input {column} ({expected}) is missing from the evaluation data")
        elif data_kinds[column] not in _COMPATIBLE.get(expected, {expected}):
            reasons.append(
                f"signature input {column} expects {expected}, the evaluation data holds {data_kinds[column]}"
            )
    return reasons


def check_integrity(
    *,
    registered_manifest: Mapping[str, str] | None,
    actual_manifest: Mapping[str, str],
    serialization_format: str | None,
    untrusted_types: Sequence[str],
    trusted_types: Sequence[str],
    signature: Sequence[tuple[str, str]] | None,
    data_kinds: Mapping[str, str],
) -> GateResult:
    reasons: list[str] = []
    if registered_manifest is None:
        reasons.append("the model version carries no sha256 manifest: its artifact cannot be verified")
    else:
        reasons += compare_manifests(registered_manifest, actual_manifest)
    if not reasons:  # only a verified artifact is worth inspecting further
        if serialization_format != SAFE_FORMAT:
            reasons.append(
                f"the model is serialized as {serialization_format or 'unknown'}; only {SAFE_FORMAT} is "
                "loaded (pickle formats run arbitrary code on load)"
            )
        refused = sorted(set(untrusted_types) - set(trusted_types))
        if refused:
            reasons.append(
                f"the artifact needs types outside the policy's trusted list: {', '.join(refused)}"
            )
        if signature is None:
            reasons.append("the model has no input signature to check the data against")
        else:
            reasons += compare_signature(signature, data_kinds)
    return GateResult(
        "integrity",
        not reasons,
        tuple(reasons),
        {
            "files_verified": len(actual_manifest),
            "serialization_format": serialization_format,
            "untrusted_types": sorted(untrusted_types),
            "signature_columns": len(signature or ()),
        },
    )
