"""A fixture repository standing in for GitHub, and the local equivalents of steps that need GitHub or AWS.

Each equivalent is explicit and checks what the real step would receive (a role ARN, a secret id,
persist-credentials: false), so a workflow that stops passing them fails its test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.github.workflow_runner import StepContext
from tests.gitops.conftest import git, init_repository, pin_everywhere
from tests.tools import require_command

REPOSITORY = "example-org/modelops-platform"
PROJECT_PARTS = ("environments", "policies", "gitops", "scripts", ".github", "pyproject.toml", "Makefile")


def make_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Path:
    """The repository on 'GitHub': the project at a commit that pins the champion everywhere."""
    require_command("kubectl")
    require_command("uvx")
    root = tmp_path / "origin"
    for part in PROJECT_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / part)
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    pin_everywhere(root, "credit-risk", demo_versions.champion)
    init_repository(root, "Platform at v" + demo_versions.champion)
    monkeypatch.setenv("MODELOPS_CRD_SCHEMAS", str(REPO_ROOT.parent / "shared" / "schemas" / "crds"))
    return root


def open_pull_request(origin: Path, version: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """`modelops promote` as a data scientist runs it; returns the pull_request event."""
    result = invoke("promote", "credit-risk", "--version", version, "--to", "dev")
    assert result.exit_code == 0, result.output
    branch = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("branch "))
    return {
        "number": 7,
        "base": {"sha": git(origin, "rev-parse", "main").strip(), "ref": "main"},
        "head": {
            "sha": git(origin, "rev-parse", branch).strip(),
            "ref": branch,
            "repo": {"full_name": REPOSITORY},
        },
    }


def checkout_from(origin: Path):
    def checkout(step: StepContext) -> None:
        assert step.inputs["persist-credentials"] == "false"
        folder = step.workspace / step.inputs.get("path", ".")
        if not (folder / ".git").exists():
            folder.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "clone", "--quiet", str(origin), str(folder)], check=True)
        if "ref" in step.inputs:  # a pull request's commit: detached, as on GitHub
            git(folder, "checkout", "--quiet", "--detach", step.inputs["ref"])
        else:  # the default branch, as a local branch
            git(folder, "checkout", "--quiet", "main")

    return checkout


def crd_schemas(step: StepContext) -> None:
    """The schemas are on disk here: checked as the script checks its downloads, then placed where it
    puts them, beside the workspace."""
    sums = step.workspace / ".github" / "crd-schemas.sha256"
    crds = REPO_ROOT.parent / "shared" / "schemas" / "crds"
    subprocess.run(["sha256sum", "--check", "--strict", "--quiet", str(sums)], cwd=crds, check=True)
    target = step.workspace.parent / "shared" / "schemas" / "crds"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(crds)


def install(step: StepContext) -> None:
    """`make sync` in the job's workspace: `modelops` then runs the code checked out there.

    The test session's environment has every dependency; a launcher puts the workspace's own
    scripts/ first on the import path, as installing that checkout would. A workflow that runs the
    gate from another folder's code (the pull request's) would not get its code from this install.
    """
    scripts = step.workspace / "scripts"
    assert (scripts / "modelops" / "__init__.py").is_file(), f"nothing to install in {step.workspace}"
    bin_dir = step.workspace.parent / f"{step.workspace.name}-installed"
    bin_dir.mkdir(exist_ok=True)
    launcher = bin_dir / "modelops"
    launcher.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(scripts)!r})\n"
        "from modelops.cli import main\nmain()\n"
    )
    launcher.chmod(0o755)
    # Later entries come first on PATH: the launcher before the environment's own `modelops`.
    step.path += [str(Path(sys.executable).parent), str(bin_dir)]
    # `make sync` also installs the model server's own locked environment (the latency gate runs it);
    # the session's, synced from the same lock, stands in for the workspace's.
    from modelops.serving.mlserver import runtime_project, sync_runtime

    sync_runtime(uv=require_command("uv"))  # a no-op when current
    step.exports["MODELOPS_SERVING_RUNTIME"] = str(runtime_project())


def assume_role(step: StepContext) -> None:
    assert step.inputs["role-to-assume"].startswith("arn:aws:iam::")


def registry_login(step: StepContext) -> None:
    assert step.env["SECRET_ID"].startswith("arn:aws:secretsmanager:")


class ArtifactStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def upload(self, step: StepContext) -> None:
        source = step.workspace / step.inputs["path"]
        assert source.is_dir() and any(source.iterdir()), f"nothing to upload at {source}"
        shutil.copytree(source, self.folder / step.inputs["name"])

    def download(self, step: StepContext) -> None:
        shutil.copytree(self.folder / step.inputs["name"], step.workspace / step.inputs["path"])


def runner_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MODELOPS_ROOT", None)  # the steps find the repository from their working folder
    env.pop("MLFLOW_TRACKING_URI", None)  # comes from the workflow's vars
    return env


def app_token(step: StepContext) -> None:
    assert step.inputs["app-id"] == "123456" and step.inputs["private-key"].startswith("-----BEGIN")
    assert step.inputs["permission-contents"] == "write"
    assert step.inputs["permission-pull-requests"] == "write"
    step.outputs["token"] = "app-installation-token"
