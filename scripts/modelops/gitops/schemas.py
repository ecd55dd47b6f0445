"""Schema validation of rendered objects, with one compiled validator per kind.

Core kinds use the schemas `kubernetes-validate` ships (strict variant, so unknown fields
are errors) through the same resolution it uses, but compiled once per kind: its own
`validate()` re-reads and re-parses the schema for every object (~13 ms each).
Custom kinds use the CRD schemas in `../shared/schemas/crds/<group>/<kind>_<version>.json`.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from modelops.config import project_root
from modelops.errors import InputError

KUBERNETES_VERSION = "1.32"


def crd_schema_dir() -> Path:
    folder = os.environ.get("MODELOPS_CRD_SCHEMAS")
    return Path(folder) if folder else project_root().parent / "shared" / "schemas" / "crds"


@cache
def _core_validator(kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    version = [v for v in kv.all_versions() if kv.major_minor(v) <= KUBERNETES_VERSION][-1]
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv.schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
    except (FileNotFoundError, kv.VersionNotSupportedError):
        return None
    definitions = kv.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@cache
def _crd_validator(kind: str, api_version: str) -> jsonschema.protocols.Validator | None:
    group, _, version = api_version.rpartition("/")
    path = crd_schema_dir() / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        return None
    return jsonschema.Draft4Validator(json.loads(path.read_text()))


# API groups under k8s.io that are custom resources, not built into Kubernetes.
_CRD_GROUPS_UNDER_K8S_IO = {"gateway.networking.k8s.io"}


def is_core(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    if group in _CRD_GROUPS_UNDER_K8S_IO:
        return False
    return "." not in group or group.endswith(".k8s.io")  # v1, apps, batch, networking.k8s.io, ...


def schema_problems(document: dict[str, Any]) -> list[str]:
    """Every schema violation of one rendered object, as `field: message` lines."""
    kind, api_version = document.get("kind", ""), document.get("apiVersion", "")
    validator = (
        _core_validator(kind, api_version) if is_core(api_version) else _crd_validator(kind, api_version)
    )
    if validator is None:
        if not is_core(api_version) and not crd_schema_dir().is_dir():
            raise InputError(f"{crd_schema_dir()}: CRD schemas not found (set MODELOPS_CRD_SCHEMAS)")
        return [f"no schema for {api_version} {kind}"]
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:160]}"
        for error in validator.iter_errors(document)
    ]
