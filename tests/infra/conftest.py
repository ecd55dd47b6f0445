"""Each stack is built once per session under mocks; its Kubernetes objects written as YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from modelops_infra import AwsPlatformSettings, load_settings
from modelops_infra.settings import REGISTRY_STACK
from tests.infra.harness import StackUnderTest, build_stack

STACKS = ("local", "dev", "staging", "prod")  # the environments' stacks
AWS_STACKS = ("dev", "staging", "prod")
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def registry_stack(repo_root: Path) -> StackUnderTest:
    """The shared registry stack, whose outputs every environment stack on AWS references."""
    return build_stack(REGISTRY_STACK, root=repo_root, bootstrap_dir=repo_root / "gitops" / "bootstrap")


@pytest.fixture(scope="session")
def stacks(repo_root: Path, registry_stack: StackUnderTest) -> dict[str, StackUnderTest]:
    # The registry stack each environment names (platform.registry.stack), answered with its outputs.
    references = {}
    for name in AWS_STACKS:
        platform = load_settings(name, root=repo_root).platform
        assert isinstance(platform, AwsPlatformSettings)
        references[platform.registry.stack] = registry_stack.outputs
    return {
        name: build_stack(
            name, root=repo_root, bootstrap_dir=repo_root / "gitops" / "bootstrap", references=references
        )
        for name in STACKS
    }


@pytest.fixture(scope="session")
def rendered(stacks: dict[str, StackUnderTest], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One folder of YAML per stack, one file per object, as `kubectl apply -f` would read them."""
    folders = {}
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    base = tmp_path_factory.mktemp("rendered")
    for name, stack in stacks.items():
        folder = base / name
        folder.mkdir()
        for index, obj in enumerate(stack.kubernetes_objects()):
            meta = obj.get("metadata", {})
            stem = f"{index:03d}-{obj['kind'].lower()}-{meta.get('namespace', 'cluster')}-{meta.get('name')}"
            with (folder / f"{stem}.yaml").open("w", encoding="utf-8") as handle:
                yaml.dump(obj, handle)
        folders[name] = folder
    return folders


@pytest.fixture(scope="session")
def every_stack(
    stacks: dict[str, StackUnderTest], registry_stack: StackUnderTest
) -> dict[str, StackUnderTest]:
    """The environments' stacks and the registry stack, by stack name."""
    return {**stacks, REGISTRY_STACK: registry_stack}
