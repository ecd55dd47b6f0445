"""A real git repository holding a copy of the policy files and gitops/, releases pinned to real versions."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import OverlayState
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import read_state, write_state
from tests.conftest import REPO_ROOT
from tests.tools import require_command

ENVIRONMENTS = ("local", "dev", "staging", "prod")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class GitOpsRepo:
    root: Path

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def branches(self) -> list[str]:
        return sorted(self.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split())

    def merge(self, branch: str) -> None:
        self.git("merge", "--no-ff", "--quiet", "-m", f"Merge {branch}", branch)

    def state(self, environment: str, model: str = "credit-risk") -> OverlayState:
        overlay = self.root / layout.overlay_dir(model, environment)
        texts = {str(p.relative_to(self.root)): p.read_text() for p in overlay.glob("*.yaml")}
        return read_state(texts, model, environment)


def init_repository(root: Path, message: str) -> None:
    """A git repository on main holding everything under `root` in one commit."""
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "user.email", "platform@example.org")
    git(root, "config", "user.name", "Platform")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", message)


def pin_everywhere(root: Path, model: str, version: str) -> None:
    """Every overlay of `model` serves `version`, as a first release would have left it."""
    release, _ = resolve_release(model, version)
    for environment in ENVIRONMENTS:
        overlay = root / layout.overlay_dir(model, environment)
        texts = {str(p.relative_to(root)): p.read_text() for p in overlay.glob("*.yaml")}
        for path, text in write_state(
            texts, model=model, environment=environment, state=OverlayState(stable=release)
        ).items():
            (root / path).write_text(text)


@pytest.fixture()
def gitops_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> GitOpsRepo:
    require_command("kubectl")  # validate renders with kubectl kustomize
    require_command("uvx")  # and runs checkov in its own environment
    root = tmp_path / "platform"
    for folder in ("environments", "policies", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    pin_everywhere(root, "credit-risk", demo_versions.champion)
    init_repository(root, "Platform at v" + demo_versions.champion)
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    monkeypatch.setenv("MODELOPS_CRD_SCHEMAS", str(REPO_ROOT.parent / "shared" / "schemas" / "crds"))
    return GitOpsRepo(root)
