"""The Kubernetes objects each stack declares validate against their schemas and pass checkov."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from modelops.gitops.validation.checkov_tool import pinned_version
from tests.conftest import REPO_ROOT
from tests.infra.conftest import STACKS
from tests.tools import require, require_command

K8S_VERSION = "1.33.0"
# No schema is published for these in ../shared/schemas/crds; listed so a new kind cannot slip by.
WITHOUT_SCHEMA = {("gateway.networking.k8s.io", "GatewayClass")}


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
        elif (schema := _crd_schema(crds, group, obj["kind"], version)) is not None:
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
    report = subprocess.run(
        [
            "uvx",
            "--from",
            f"checkov=={pinned_version(REPO_ROOT)}",
            "checkov",
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
            *[arg for f in rendered.values() for arg in ("-d", str(f))],
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        timeout=300,
    )
    require(report.stdout.strip().startswith(("{", "[")), f"checkov (stderr: {report.stderr[-300:]})")
    results, text, decoder = [], report.stdout.strip(), json.JSONDecoder()
    while text:  # one JSON document per framework pass, concatenated
        document, end = decoder.raw_decode(text)
        results += document if isinstance(document, list) else [document]
        text = text[end:].strip()
    failed = [
        f"{c['check_id']} {c['resource']} ({Path(c['file_path']).name})"
        for r in results
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in results)  # --quiet omits the list
    assert passed > 0
    assert failed == []
