"""`infra/__main__.py`, the program `pulumi up` runs, under mocks: each kind of stack loads its own
settings and exports what the other stacks and the workflows read."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from modelops.errors import InputError
from modelops_infra.components.registry import (
    OUTPUT_BUCKET_ARN,
    OUTPUT_BUCKET_NAME,
    OUTPUT_KEY_ARN,
    OUTPUT_MONITOR_PASSWORD,
    OUTPUT_URL,
)
from tests.infra.harness import PROJECT, RecordingMocks

REGISTRY_EXPORTS = {
    OUTPUT_BUCKET_NAME,
    OUTPUT_BUCKET_ARN,
    OUTPUT_KEY_ARN,
    OUTPUT_URL,
    OUTPUT_MONITOR_PASSWORD,
    "ci_role_arns",
    "ci_mlflow_secret_arns",
}


def _run(repo_root: Path, stack: str, config: dict[str, str], monkeypatch, references) -> dict[str, Any]:
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exported.__setitem__(name, value))
    pulumi.runtime.set_mocks(RecordingMocks(references), project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config({f"modelops:{key}": value for key, value in config.items()})

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        runpy.run_path(str(repo_root / "infra" / "__main__.py"), run_name="__main__")
        return pulumi.Output.from_input(exported.get(OUTPUT_URL, ""))

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    return exported


def test_the_registry_stack_reads_its_own_file_and_exports_what_environments_reference(
    repo_root, monkeypatch
):
    config = {"settings": "environments/shared/registry.yaml"}  # as infra/Pulumi.registry.yaml
    exported = _run(repo_root, "registry", config, monkeypatch, references=None)
    assert exported["environment"] == "registry"
    assert set(exported) >= REGISTRY_EXPORTS
    assert "models_namespace" not in exported


def test_an_environment_stack_exports_its_namespace_and_the_registrys_url(
    repo_root, monkeypatch, registry_stack
):
    references = {"example-org/modelops-platform/registry": registry_stack.outputs}
    exported = _run(repo_root, "dev", {"environment": "dev"}, monkeypatch, references)
    assert exported["environment"] == "dev" and exported["models_namespace"] == "models-dev"
    assert not (REGISTRY_EXPORTS - {OUTPUT_URL, "ci_role_arns"}) & set(exported)  # none of the registry's


def test_the_registry_stack_without_its_settings_file_stops(repo_root, monkeypatch):
    with pytest.raises(InputError, match="must name modelops:settings"):
        _run(repo_root, "registry", {}, monkeypatch, references=None)
