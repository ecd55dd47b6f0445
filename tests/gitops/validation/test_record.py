"""`modelops validate --save` then `modelops gate --validated`: the gate reuses the validation only
while nothing it read has changed, and validates again otherwise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modelops.gitops.repository import layout
from modelops.gitops.validation import record as validation_record
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT

PLANTED = {
    "file": "gitops/planted.yaml",
    "message": "planted in the record, never found by validation",
    "object": "",
    "rule": "",
}


def commit_change(repo, branch: str, path: str, old: str, new: str) -> None:
    file = repo.root / path
    file.write_text(file.read_text().replace(old, new, 1))
    repo.git("checkout", "--quiet", "-B", branch)
    repo.git("commit", "--quiet", "-am", f"Change {path}")


def commit_all(repo, message: str) -> None:
    repo.git("add", "-A")
    repo.git("commit", "--quiet", "-m", message)


def plant(record: Path) -> None:
    """A finding only the record has: if the gate reports it, the gate reused the record."""
    data = json.loads(record.read_text())
    data["findings"].append(PLANTED)
    record.write_text(json.dumps(data))


def gate(head: str, out: Path, record: Path):
    return invoke("gate", "--base", "main", "--head", head, "--out", out, "--validated", record, "--json")


def findings(result) -> list[dict[str, str]]:
    return json.loads(result.stdout)["validation"]["findings"]


@pytest.fixture()
def planted_record(gitops_repo, tmp_path) -> Path:
    """On a branch `note` changing no release: `validate --save`, then a finding planted in it."""
    kustomization = str(layout.environment_dir("dev") / layout.KUSTOMIZATION)
    commit_change(gitops_repo, "note", kustomization, "# Everything", "# Reviewed. Everything")
    record = tmp_path / "validation.json"
    assert invoke("validate", "--save", record).exit_code == 0
    plant(record)
    return record


def test_the_gate_reuses_a_record_of_the_same_tree(planted_record, tmp_path):
    record = planted_record
    result = gate("note", tmp_path / "reports", record)

    assert result.exit_code == 1, result.output
    assert findings(result) == [PLANTED]
    assert (
        json.loads(result.stdout)["validation"]["source"] == f"reusing {record}: nothing it read has changed"
    )


def test_a_record_of_another_tree_is_not_reused(gitops_repo, planted_record, tmp_path):
    release = str(layout.overlay_file("credit-risk", "staging", layout.RELEASE))
    uri = next(
        line.split("storageUri:")[1].strip()
        for line in (gitops_repo.root / release).read_text().splitlines()
        if "storageUri:" in line
    )
    commit_change(gitops_repo, "note", release, uri, "models:/credit-risk@champion")

    result = gate("note", tmp_path / "reports", planted_record)

    assert result.exit_code == 1, result.output
    assert PLANTED not in findings(result)
    assert any(f["file"] == release and "is mutable" in f["message"] for f in findings(result))


def test_a_missing_or_foreign_record_means_validating_again(gitops_repo, tmp_path):
    kustomization = str(layout.environment_dir("dev") / layout.KUSTOMIZATION)
    commit_change(gitops_repo, "note", kustomization, "# Everything", "# Reviewed. Everything")
    not_a_record = tmp_path / "other.json"
    not_a_record.write_text('{"format": 1, "inputs": "0000", "objects": 0, "findings": []}')
    for record in (tmp_path / "absent.json", not_a_record):
        result = invoke("gate", "--base", "main", "--head", "note", "--out", tmp_path, "--validated", record)
        assert result.exit_code == 0, result.output
        flat = " ".join(result.output.split())
        assert f"Validation (validated again: {record}" in flat
        assert "rendered objects, no problems" in flat


def test_the_digest_covers_schemas_and_folders(gitops_repo, tmp_path, monkeypatch):
    schemas = tmp_path / "crds"
    shutil.copytree(REPO_ROOT.parent / "shared" / "schemas" / "crds", schemas)
    monkeypatch.setenv("MODELOPS_CRD_SCHEMAS", str(schemas))
    seen = {validation_record.inputs_digest(gitops_repo.root)}
    assert validation_record.inputs_digest(gitops_repo.root) in seen  # the same tree, the same digest
    schema = next(schemas.rglob("inferenceservice_*.json"))
    schema.write_text(schema.read_text() + " ")
    seen.add(validation_record.inputs_digest(gitops_repo.root))
    # An empty overlay folder fails kustomize where its absence did not.
    (gitops_repo.root / "gitops/models/credit-risk/overlays/extra").mkdir()
    seen.add(validation_record.inputs_digest(gitops_repo.root))
    assert len(seen) == 3


def test_what_a_digest_cannot_cover_means_validating_again(gitops_repo, planted_record, tmp_path):
    outside = gitops_repo.root / "shared-base"
    shutil.copytree(gitops_repo.root / "gitops/models/credit-risk/base", outside)
    link = gitops_repo.root / "environments/notes.txt"
    link.symlink_to("dev.yaml")
    commit_all(gitops_repo, "Link a note, copy the base outside gitops/")  # the gate judges commits
    result = gate("note", tmp_path / "reports", planted_record)
    assert "environments/notes.txt is a symbolic link" in json.loads(result.stdout)["validation"]["source"]
    assert PLANTED not in findings(result)

    link.unlink()
    overlay = gitops_repo.root / "gitops/models/credit-risk/overlays/dev/kustomization.yaml"
    overlay.write_text(overlay.read_text().replace("../../base", "../../../../../shared-base"))
    commit_all(gitops_repo, "Base dev's overlay on the copy outside gitops/")
    result = gate("note", tmp_path / "reports", planted_record)
    # Beyond gitops/ is beyond what the gate renders: the record is not consulted, the file is named.
    assert PLANTED not in findings(result)
    assert {
        "file": "gitops/models/credit-risk/overlays/dev/kustomization.yaml",
        "message": "resources: reads ../../../../../shared-base, outside gitops/",
        "object": "",
        "rule": "MODELOPS_KUSTOMIZE_PATHS",
    } in findings(result)


def test_validated_without_the_pull_request_mode_is_refused(gitops_repo, tmp_path):
    result = invoke(
        "gate", "--model", "credit-risk", "--version", "1", "--env", "dev", "--validated", tmp_path
    )
    assert result.exit_code == 2
    assert "--validated goes with --base and --head" in result.output
