"""The Kubernetes objects each stack declares validate against their schemas and pass checkov."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from modelops.gitops.validation import checkov_tool
from tests.conftest import REPO_ROOT
from tests.infra.conftest import STACKS
from tests.tools import require, require_command

K8S_VERSION = "1.33.0"
# No schema is published for these in ../shared/schemas/crds; listed so a new kind cannot slip by.
# A ClusterStorageContainer's container is checked as a core/v1 Container below.
WITHOUT_SCHEMA = {
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("serving.kserve.io", "ClusterStorageContainer"),
    ("serving.kserve.io", "ClusterStorageContainerPatch"),
}
# KServe's cluster-wide runtime has the namespaced ServingRuntime's schema (one Go type, two CRDs).
SCHEMA_OF = {"ClusterServingRuntime": "ServingRuntime"}


def _crd_dir(repo_root: Path) -> Path:
    return repo_root.parent / "shared" / "schemas" / "crds"


@cache
def _crd_schema(folder: Path, group: str, kind: str, version: str) -> dict[str, Any] | None:
    path = folder / group / f"{kind.lower()}_{version}.json"
    return json.loads(path.read_text()) if path.is_file() else None


@pytest.mark.parametrize("name", STACKS)
def test_objects_validate_against_kubernetes_and_crd_schemas(stacks, repo_root, name):
    crds = _crd_dir(repo_root)
    require(crds.is_dir(), f"CRD schemas at {crds}")
    checked = 0
    for obj in stacks[name].kubernetes_objects():
        group, _, version = obj["apiVersion"].rpartition("/")
        if "." not in group or (group.endswith("k8s.io") and group != "gateway.networking.k8s.io"):
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        elif (
            schema := _crd_schema(crds, group, SCHEMA_OF.get(obj["kind"], obj["kind"]), version)
        ) is not None:
            # Not jsonschema.validate: CRD schemas carry Go regexes (`(?i)`) Python's metaschema rejects.
            jsonschema.validators.validator_for(schema)(schema).validate(obj)
        else:
            assert (group, obj["kind"]) in WITHOUT_SCHEMA, f"no schema for {obj['apiVersion']} {obj['kind']}"
            continue
        checked += 1
    assert checked > 0


def test_checkov_kubernetes_framework_finds_nothing(rendered, repo_root):
    """One checkov run over every stack's objects (start-up is ~4 s); skips are inline annotations."""
    require_command("uvx")
    outcomes = checkov_tool.scan(list(rendered.values()), root=REPO_ROOT, platform_rules=False)
    assert any(o.passed for o in outcomes)
    assert [f"{o.check_id} {o.resource} ({Path(o.file).name})" for o in outcomes if not o.passed] == []


@pytest.mark.parametrize("name", STACKS)
def test_the_storage_initializers_container_is_a_valid_kubernetes_container(stacks, name):
    """KServe merges it into the predictor pod as an init container: it must be one a Pod accepts."""
    containers = [
        o["spec"]["container"]
        for o in stacks[name].kubernetes_objects()
        if o["kind"] == "ClusterStorageContainer"
    ]
    assert containers
    for container in containers:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "predictor"},
            "spec": {
                "initContainers": [{**container, "args": ["s3://bucket/artifacts", "/mnt/models"]}],
                "containers": [{"name": "kserve-container", "image": "mlserver"}],
            },
        }
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
