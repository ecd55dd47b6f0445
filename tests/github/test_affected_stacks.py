"""Which stacks the infra workflow previews and deploys for a change, and in which order."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from modelops.config.loader import load_environment
from modelops.errors import InputError
from modelops.github.affected_stacks import (
    REGISTRY,
    REGISTRY_SETTINGS,
    affected,
    changed_paths,
    deploy_order,
    has_registry,
    main,
    stack_order,
)
from modelops_infra import settings as infra_settings
from tests.conftest import REPO_ROOT

LADDER = ["dev", "staging", "prod"]
STACKS = ["registry", *LADDER]


def test_cloud_stacks_deploy_in_the_order_of_the_promotion_ladder():
    environments = [load_environment(name, root=REPO_ROOT) for name in ("prod", "local", "staging", "dev")]
    assert deploy_order(environments) == LADDER  # local targets a developer's cluster: never deployed


def test_the_registry_deploys_before_every_environment():
    environments = [load_environment(name, root=REPO_ROOT) for name in ("prod", "local", "staging", "dev")]
    assert stack_order(environments, registry=True) == STACKS
    assert stack_order(environments, registry=False) == LADDER


def test_the_registry_is_the_stack_and_file_the_program_reads():
    assert REGISTRY == infra_settings.REGISTRY_STACK
    assert Path(REGISTRY_SETTINGS) == infra_settings.REGISTRY_SETTINGS
    assert has_registry(REPO_ROOT)


def test_an_environment_named_like_the_registry_is_refused(tmp_path):
    shutil.copytree(REPO_ROOT / "environments", tmp_path / "environments")
    text = (tmp_path / "environments" / "dev.yaml").read_text().replace("name: dev", "name: registry", 1)
    (tmp_path / "environments" / "registry.yaml").write_text(text)
    environments = [load_environment(name, root=tmp_path) for name in ("registry", "dev", "staging", "prod")]
    assert "registry" in deploy_order(environments)
    with pytest.raises(InputError, match=r"environments/registry\.yaml: registry is the shared stack"):
        stack_order(environments, registry=True)


def _with_registry_config(root: Path, text: str | None) -> Path:
    (root / "infra").mkdir(parents=True, exist_ok=True)
    if text is not None:
        (root / "infra" / "Pulumi.registry.yaml").write_text(text)
    return root


def test_a_registry_config_naming_another_settings_file_is_refused(tmp_path):
    assert not has_registry(_with_registry_config(tmp_path / "none", None))  # no registry stack yet
    for number, text in enumerate(
        ("config:\n  modelops:settings: environments/dev.yaml\n", "config: {}\n", "- a list\n")
    ):
        root = _with_registry_config(tmp_path / f"case{number}", text)
        with pytest.raises(InputError, match=r"Pulumi.registry.yaml: field 'config.modelops:settings'"):
            has_registry(root)


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


def test_an_environment_file_touches_its_own_stack_and_the_registry_that_reads_it():
    # The registry's program loads every environments/*.yaml (its readers are the ones on AWS).
    assert affected(["environments/staging.yaml"], STACKS) == ["registry", "staging"]
    assert affected(["environments/local.yaml"], STACKS) == ["registry"]
    assert affected(["environments/prod.yaml", "environments/dev.yaml"], STACKS) == [
        "registry",
        "dev",
        "prod",
    ]
    assert affected(["environments/staging.yaml"], LADDER) == ["staging"]  # no registry stack


def test_the_registry_settings_touch_the_registry_and_every_environment_reading_its_outputs():
    assert affected(["environments/shared/registry.yaml"], STACKS) == STACKS
    for stack in STACKS:  # each stack's own deployed/<stack> range (affected_since_deployed)
        assert affected(["environments/shared/registry.yaml"], [stack]) == [stack]


def test_the_program_touches_the_registry_too():
    for path in ("infra/modelops_infra/components/registry.py", "infra/Pulumi.registry.yaml"):
        assert affected([path], [REGISTRY]) == [REGISTRY], path
    assert affected(["policies/crossguard/rules.py"], [REGISTRY]) == [REGISTRY]


def test_paths_that_only_look_like_a_stacks_file_touch_nothing():
    lookalikes = [
        "environments/shared/other.yaml",  # read by no stack
        "environments/registry.yaml.orig",
        "docs/environments/dev.yaml",
        "environments/dev.yml",
        "environments/shared/registry.yaml.bak",
    ]
    assert affected(lookalikes, STACKS) == []


def test_model_releases_touch_no_stack():
    changed = ["gitops/models/credit-risk/overlays/prod/release.yaml", "policies/models/credit-risk.yaml"]
    assert affected(changed, STACKS) == []


def test_the_command_prints_the_registry_first(tmp_path, monkeypatch, capsys):
    root = tmp_path / "repo"
    for part in ("environments", "policies"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "infra").mkdir()
    shutil.copy2(REPO_ROOT / "infra" / "Pulumi.registry.yaml", root / "infra")
    _git_commit(root, "base")
    (root / "environments" / "shared" / "registry.yaml").write_text(
        (root / "environments" / "shared" / "registry.yaml").read_text() + "# changed\n"
    )
    _git_commit(root, "registry")
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    assert main(["--base", "HEAD~1", "--head", "HEAD"]) == 0
    assert capsys.readouterr().out.strip() == '["registry", "dev", "staging", "prod"]'
    (root / "infra" / "Pulumi.registry.yaml").write_text("config: {}\n")
    assert main(["--base", "HEAD~1", "--head", "HEAD"]) == 2
    assert "Pulumi.registry.yaml: field 'config.modelops:settings'" in capsys.readouterr().err


def _git_commit(root: Path, message: str) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True)

    if not (root / ".git").exists():
        git("init", "--quiet", "--initial-branch=main")
        git("config", "user.email", "t@example.org")
        git("config", "user.name", "T")
    git("add", "-A")
    git("commit", "--quiet", "-m", message)


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
    # A file moved out of a watched folder still names the folder it left.
    (tmp_path / "gitops" / "bootstrap").mkdir(parents=True)
    (tmp_path / "gitops" / "bootstrap" / "app.yaml").write_text("kind: Application\nname: a\n")
    git("add", "-A")
    git("commit", "--quiet", "-m", "bootstrap")
    git("mv", "gitops/bootstrap/app.yaml", "app.yaml")
    git("commit", "--quiet", "-m", "moved out")
    moved = changed_paths(tmp_path, "HEAD~1", "HEAD")
    assert sorted(moved) == ["app.yaml", "gitops/bootstrap/app.yaml"]
    assert affected(moved, STACKS) == STACKS
