"""File names with spaces and non-ASCII characters under gitops/ work in every command.

git quotes such names (`"Notizen f\\303\\274r Pr\\303\\274fer.md"`) unless it is asked for
NUL-separated output, so each command is run here on a real repository holding them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import OverlayState, Traffic
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.overlay_files import write_state
from tests.cli_runner import invoke

pytestmark = pytest.mark.slow

DEV = "gitops/models/credit-risk/overlays/dev"
NOTE = f"{DEV}/Notizen für Prüfer.md"
PATCH = f"{DEV}/équipe et libellés.yaml"  # rendered: listed under the overlay's patches
PROD_NOTE = "gitops/models/credit-risk/overlays/prod/Prüfnotiz.md"
DIAGRAM = "gitops/models/credit-risk/docs/Überblick.png"  # not text at all
DIAGRAM_BYTES = b"\x89PNG\r\n\x1a\n\xff\xfe"
NESTED = "gitops/models/credit-risk/docs/revue 2026/naïve ☃.txt"


def _branch(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("branch "))


@pytest.fixture()
def named_repo(gitops_repo):
    root = gitops_repo.root
    (root / NOTE).write_text("Wer prüft: das Plattform-Team.\n")
    (root / PATCH).write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: credit-risk\n"
        "  labels:\n    équipe: risque\n"
    )
    kustomization = root / DEV / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + f"  - path: {Path(PATCH).name}\n")
    (root / NESTED).parent.mkdir(parents=True)
    (root / NESTED).write_text("☃\n")
    (root / DIAGRAM).write_bytes(DIAGRAM_BYTES)
    gitops_repo.git("add", "-A")
    gitops_repo.git("commit", "--quiet", "-m", "Notes and a patch with non-ASCII names")
    return gitops_repo


def test_git_reads_them_whole(named_repo):
    repo = Repo(named_repo.root)
    texts = repo.texts_at("HEAD", "gitops/models/credit-risk")
    assert texts[NOTE] == "Wer prüft: das Plattform-Team.\n"
    assert texts[NESTED] == "☃\n"
    assert texts[DIAGRAM].encode(errors="surrogateescape") == DIAGRAM_BYTES
    assert repo.revisions_touching(NOTE) == [named_repo.git("rev-parse", "HEAD").strip()]
    (named_repo.root / NOTE).write_text("edited\n")
    (named_repo.root / NESTED).unlink()
    assert repo.dirty_paths(DEV) == [NOTE]
    assert sorted(repo.dirty_paths("gitops")) == sorted([NOTE, NESTED])


def test_a_renamed_file_counts_as_both_paths(named_repo):
    moved = f"{DEV}/Notizen (alt) für Prüfer.md"
    named_repo.git("mv", NOTE, moved)
    assert sorted(Repo(named_repo.root).dirty_paths(DEV)) == sorted([moved, NOTE])


def test_validate_and_status(named_repo):
    validate = invoke("validate")
    assert validate.exit_code == 0, validate.output
    status = invoke("status", "--no-gates")
    assert status.exit_code == 0, status.output
    assert "credit-risk" in status.stdout


def test_promote_keeps_them_and_the_gate_judges_the_pull_request(named_repo, demo_versions, tmp_path):
    result = invoke("promote", "credit-risk", "--version", demo_versions.better, "--to", "dev")
    assert result.exit_code == 0, result.output
    branch = _branch(result.stdout)
    assert named_repo.git("show", f"{branch}:{NOTE}") == "Wer prüft: das Plattform-Team.\n"
    assert named_repo.git("diff", "--name-only", f"main...{branch}").split("\n")[:-1] == [
        f"{DEV}/release.yaml"
    ]

    # The pull request also adds files with such names, in the overlay and beside it: the gate
    # reads them, and lists the one that changes no release as it is spelt.
    named_repo.git("checkout", "--quiet", branch)
    (named_repo.root / DEV / "Begründung der Änderung.md").write_text("Warum: bessere ROC AUC.\n")
    added = "gitops/models/credit-risk/docs/revue 2026/Protokoll für März.txt"
    (named_repo.root / added).write_text("Freigegeben.\n")
    named_repo.git("add", "-A")
    named_repo.git("commit", "--quiet", "-m", "Why, in a file")
    try:
        gate = invoke("gate", "--base", "main", "--head", branch, "--out", tmp_path, "--json", "--no-html")
    finally:
        named_repo.git("checkout", "--quiet", "main")
    assert gate.exit_code == 0, gate.output
    verdict = json.loads(gate.stdout)
    assert [(r["environment"], r["challenger"]) for r in verdict["releases"]] == [
        ("dev", demo_versions.better)
    ]
    assert added in json.dumps(verdict["other_changes"], ensure_ascii=False)
    assert "\\303" not in gate.output  # no name in git's quoted spelling


def test_an_uncommitted_edit_is_named_as_it_is_spelt(named_repo, demo_versions):
    (named_repo.root / NOTE).write_text("noch nicht committet\n")
    result = invoke("promote", "credit-risk", "--version", demo_versions.better, "--to", "dev")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"error: {NOTE}: uncommitted changes; commit or discard them first"


def test_rollout_reads_them(named_repo, demo_versions):
    prod = named_repo.root / "gitops/models/credit-risk/overlays/prod"
    (named_repo.root / PROD_NOTE).write_text("Kanarienvogel\n")
    texts = {str(p.relative_to(named_repo.root)): p.read_text() for p in prod.glob("*.yaml")}
    stable, _ = resolve_release("credit-risk", demo_versions.champion)
    candidate, _ = resolve_release("credit-risk", demo_versions.better)
    canary = OverlayState(stable=stable, candidate=candidate, traffic=Traffic(stable=90, candidate=10))
    for path, text in write_state(texts, model="credit-risk", environment="prod", state=canary).items():
        (named_repo.root / path).write_text(text)
    named_repo.git("add", "-A")
    named_repo.git("commit", "--quiet", "-m", "A canary in prod")
    result = invoke("rollout", "step", "credit-risk", "--env", "prod")
    assert result.exit_code == 0, result.output
    assert named_repo.git("show", f"{_branch(result.stdout)}:{PROD_NOTE}") == "Kanarienvogel\n"


def test_rollback_reads_their_history(named_repo, demo_versions):
    promoted = invoke("promote", "credit-risk", "--version", demo_versions.better, "--to", "dev")
    assert promoted.exit_code == 0, promoted.output
    named_repo.merge(_branch(promoted.stdout))
    rollback = invoke("rollback", "credit-risk", "--env", "dev")
    assert rollback.exit_code == 0, rollback.output
    branch = _branch(rollback.stdout)
    assert named_repo.git("show", f"{branch}:{NOTE}") == "Wer prüft: das Plattform-Team.\n"
