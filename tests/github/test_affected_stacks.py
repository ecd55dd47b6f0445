"""Which stacks the infra workflow previews and deploys for a change, and in which order."""

from __future__ import annotations

import subprocess

from modelops.config.loader import load_environment
from modelops.github.affected_stacks import affected, changed_paths, deploy_order
from tests.conftest import REPO_ROOT

STACKS = ["dev", "staging", "prod"]


def test_cloud_stacks_deploy_in_the_order_of_the_promotion_ladder():
    environments = [load_environment(name, root=REPO_ROOT) for name in ("prod", "local", "staging", "dev")]
    assert deploy_order(environments) == STACKS  # local targets a developer's cluster: never deployed


def test_the_program_its_policies_and_its_pins_touch_every_stack():
    every_stack = [
        "infra/modelops_infra/cluster.py",
        "policies/crossguard/__main__.py",
        "uv.lock",
        "gitops/bootstrap/applicationset-models.yaml",
        "gitops/models/fraud/base/serviceaccount.yaml",
    ]
    for path in every_stack:
        assert affected([path], STACKS) == STACKS, path


def test_an_environment_file_touches_its_own_stack_only():
    assert affected(["environments/staging.yaml"], STACKS) == ["staging"]
    assert affected(["environments/local.yaml"], STACKS) == []
    assert affected(["environments/prod.yaml", "environments/dev.yaml"], STACKS) == ["dev", "prod"]


def test_model_releases_touch_no_stack():
    changed = ["gitops/models/credit-risk/overlays/prod/release.yaml", "policies/models/credit-risk.yaml"]
    assert affected(changed, STACKS) == []


def test_changed_paths_come_from_git(tmp_path):
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True
        ).stdout

    git("init", "--quiet", "--initial-branch=main")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "T")
    (tmp_path / "README.md").write_text("x\n")
    git("add", "-A")
    git("commit", "--quiet", "-m", "base")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text("name: dev\n")
    git("add", "-A")
    git("commit", "--quiet", "-m", "head")
    assert changed_paths(tmp_path, "HEAD~1", "HEAD") == ["environments/dev.yaml"]
