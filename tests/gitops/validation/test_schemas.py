"""Schema validation of rendered objects: jsonschema-rs finds what the `jsonschema` package finds.

The reference is the `jsonschema` package on the same schemas, resolved as kubernetes-validate
resolves them. Every object the committed tree renders is checked as it is (no violation) and
after edits a person could make by hand: an unknown field, a wrong type, a deep value broken.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from modelops.gitops.rendering.documents import objects
from modelops.gitops.rendering.render import render_each
from modelops.gitops.repository import layout
from modelops.gitops.rules.argocd import BOOTSTRAP
from modelops.gitops.validation import schemas
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.tools import require, require_command

CRDS = REPO_ROOT.parent / "shared" / "schemas" / "crds"


@pytest.fixture(scope="module", autouse=True)
def crd_schemas() -> Iterator[None]:
    require(CRDS.is_dir(), f"the CRD schemas in {CRDS}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELOPS_CRD_SCHEMAS", str(CRDS))
        yield


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    require_command("kubectl")
    folders = {path.name: path for path in sorted((REPO_ROOT / "gitops" / "environments").iterdir())}
    folders[BOOTSTRAP] = REPO_ROOT / BOOTSTRAP
    found = [o for _, documents in render_each(folders) for o in objects(documents)]
    assert {o["kind"] for o in found} >= {"InferenceService", "HTTPRoute", "ServiceAccount", "NetworkPolicy"}
    return found


def reference_problems(document: dict[str, Any]) -> set[str]:
    """The violated fields by the `jsonschema` package: what the validation used before."""
    kind, api_version = document["kind"], document["apiVersion"]
    if schemas.is_core(api_version):
        version = [v for v in kv.all_versions() if kv.major_minor(v) <= schemas.KUBERNETES_VERSION][-1]
        folder = f"kubernetes-json-schema/v{version}-local-strict"
        group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        schema = kv.schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
        definitions = kv.schema_contents(f"{folder}/_definitions.json", version)
        registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
    else:
        group, _, version = api_version.rpartition("/")
        schema = json.loads((CRDS / group / f"{kind.lower()}_{version}.json").read_text())
        validator = jsonschema.Draft4Validator(schema)
    return {".".join(str(p) for p in e.absolute_path) or "(root)" for e in validator.iter_errors(document)}


def problem_fields(document: dict[str, Any]) -> set[str]:
    return {problem.split(": ", 1)[0] for problem in schemas.schema_problems(document)}


def first_string_leaf(node: Any, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    if isinstance(node, str):
        return path
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        if (found := first_string_leaf(child, (*path, key))) is not None:
            return found
    return None


def hand_edits(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    edits = {}
    unknown = copy.deepcopy(document)
    unknown.setdefault("spec", {})["replica"] = 2  # a typo of a real field
    edits["an unknown field"] = unknown
    renamed = copy.deepcopy(document)
    renamed["metadata"]["name"] = 7
    edits["a number for a name"] = renamed
    if (leaf := first_string_leaf(document.get("spec", {}))) is not None:
        broken = copy.deepcopy(document)
        parent = broken["spec"]
        for key in leaf[:-1]:
            parent = parent[key]
        parent[leaf[-1]] = {"not": "a string"}
        edits[f"an object for spec.{'.'.join(map(str, leaf))}"] = broken
    return edits


def test_every_rendered_object_passes(rendered: list[dict[str, Any]]) -> None:
    assert [(o["kind"], schemas.schema_problems(o)) for o in rendered if schemas.schema_problems(o)] == []


def test_hand_edits_are_found_as_the_reference_finds_them(rendered: list[dict[str, Any]]) -> None:
    compared = 0
    for document in rendered:
        for edit, edited in hand_edits(document).items():
            expected = reference_problems(edited)
            assert problem_fields(edited) == expected, (document["kind"], edit)
            compared += bool(expected)
    assert compared >= 2 * len(rendered)  # most edits are violations, so the comparison means something


def test_a_kind_whose_schema_has_go_only_regex_still_validates() -> None:
    # PrometheusRule's CRD has `^(?i)(abort|warn)?$`, which jsonschema-rs refuses in a schema and
    # Python's `re` refuses as written; the rule below exercises that very pattern.
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "model-alerts"},
        "spec": {
            "groups": [
                {
                    "name": "models",
                    "partial_response_strategy": "WARN",  # case-insensitive, as Go's (?i) says
                    "rules": [{"alert": "Down", "expr": "up == 0"}],
                }
            ]
        },
    }
    assert schemas.schema_problems(rule) == []
    rule["spec"]["groups"][0]["partial_response_strategy"] = "explode"
    rule["spec"]["groups"][0]["rules"][0]["expr"] = ["up == 0"]
    assert problem_fields(rule) == {"spec.groups.0.partial_response_strategy", "spec.groups.0.rules.0.expr"}


def test_a_kind_without_a_schema_is_a_problem_not_a_pass() -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schemas.schema_problems(unknown) == ["no schema for example.com/v1 Widget"]


def test_a_hand_edited_overlay_with_an_unknown_field_fails_validation(gitops_repo) -> None:
    release = gitops_repo.root / layout.overlay_file("credit-risk", "dev", layout.RELEASE)
    release.write_text(release.read_text().replace("  predictor:\n", "  predictor:\n    replica: 2\n", 1))
    result = invoke("validate")
    assert result.exit_code == 1, result.output
    flat = " ".join(result.stdout.split())
    assert (
        "gitops/models/credit-risk/overlays/dev/release.yaml: InferenceService/credit-risk: spec.predictor"
        in flat
    )
