"""Custom resources checked as the API server would admit them: schema, then the CRD's CEL rules.

Schemas: ../shared/schemas/crds (Gateway API, cert-manager), and for Envoy Gateway's own kinds, which
that folder lacks, the `openAPIV3Schema` of each CRD in Envoy Gateway v1.7.4's chart
(`charts/gateway-helm/crds/generated/gateway.envoyproxy.io_<plural>.yaml` at tag v1.7.4, commit
062b176235b72d339fac340d23dd37679b36dca6; descriptions removed) in fixtures/envoy_gateway/.
Those are made strict here (no property the CRD does not declare), as openapi2jsonschema --strict makes
the shared ones: the API server would prune an unknown field silently, so a misspelt `clientCidrs`
would vanish and leave a policy that allows no one, or worse, one that checks nothing.

The `x-kubernetes-validations` rules are evaluated with cel-python after the schema's defaults are
applied (the API server defaults before it validates). A rule cel-python cannot evaluate is reported,
not skipped.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tests.conftest import REPO_ROOT

SHARED_CRDS = REPO_ROOT.parent / "shared" / "schemas" / "crds"
ENVOY_GATEWAY_CRDS = Path(__file__).parent / "fixtures" / "envoy_gateway"


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        strict = {key: _strict(value) for key, value in node.items()}
        if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            strict.setdefault("additionalProperties", False)
        return strict
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    group, _, version = api_version.rpartition("/")
    if group == "gateway.envoyproxy.io":
        path = ENVOY_GATEWAY_CRDS / f"{kind.lower()}_{version}.json"
        return _strict(json.loads(path.read_text())) if path.is_file() else None
    path = SHARED_CRDS / group / f"{kind.lower()}_{version}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _defaulted(schema: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        filled = {key: copy.deepcopy(sub["default"]) for key, sub in properties.items() if "default" in sub}
        filled.update(value)
        extra = schema.get("additionalProperties")
        return {
            key: _defaulted(properties.get(key) or (extra if isinstance(extra, dict) else {}), item)
            for key, item in filled.items()
        }
    if isinstance(value, list):
        return [_defaulted(schema.get("items", {}), item) for item in value]
    return value


def _cel_problems(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    import celpy

    environment = celpy.Environment()
    problems = []
    for rule in schema.get("x-kubernetes-validations", []):
        try:
            program = environment.program(environment.compile(rule["rule"]))
            passed = bool(program.evaluate({"self": celpy.json_to_cel(value)}))
        except Exception as error:  # cel-python raises its own types for parse and evaluation
            problems.append(f"{path}: rule not evaluated ({type(error).__name__}): {rule['rule'][:100]}")
            continue
        if not passed:
            problems.append(f"{path}: {rule.get('message', rule['rule'])}")
    if isinstance(value, dict):
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key) or (extra if isinstance(extra, dict) else None)
            if sub:
                problems += _cel_problems(sub, item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += _cel_problems(schema["items"], item, f"{path}[{index}]")
    return problems


def admission_problems(manifest: dict[str, Any]) -> list[str]:
    """Why the API server would refuse `manifest` (a custom resource), as `path: message` lines."""
    schema = crd_schema(manifest["apiVersion"], manifest["kind"])
    if schema is None:
        return [f"no schema for {manifest['apiVersion']} {manifest['kind']}"]
    # Not jsonschema.validate: CRD schemas carry Go regexes (`(?i)`) Python's metaschema rejects.
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:160]}"
        for error in validator.iter_errors(manifest)
    ]
    return problems + _cel_problems(schema, _defaulted(schema, manifest), manifest["kind"])
