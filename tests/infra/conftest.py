"""Each stack is built once per session under mocks; its Kubernetes objects written as YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.infra.harness import StackUnderTest, build_stack

STACKS = ("local", "dev", "staging", "prod")
AWS_STACKS = ("dev", "staging", "prod")
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def stacks(repo_root: Path) -> dict[str, StackUnderTest]:
    return {
        name: build_stack(name, root=repo_root, bootstrap_dir=repo_root / "gitops" / "bootstrap")
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
