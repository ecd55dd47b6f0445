"""The platform section of each environment file: loads, and bad values name file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops_infra import load_registry_settings, load_settings
from modelops_infra.settings import REGISTRY_SETTINGS, load_stack_settings

STACKS = ("local", "dev", "staging", "prod")


@pytest.mark.parametrize("name", STACKS)
def test_every_environment_has_valid_platform_settings(repo_root, name):
    settings = load_settings(name, root=repo_root)
    assert settings.on_aws == (name != "local")
    assert settings.models_namespace == f"models-{name}"


def _copy(repo_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(repo_root / "environments", tmp_path / "environments")  # shared/ included
    return tmp_path


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / "environments" / f"{name}.yaml"
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("name", "old", "new", "field"),
    [
        ("prod", "nat_gateways: per_zone", "nat_gateway: per_zone", "platform.network.nat_gateway"),
        ("dev", "vpc_cidr: 10.10.0.0/16", "vpc_cidr: 10.10.0.0/24", "platform.network.vpc_cidr"),
        # An IPv6 block of the right size used to pass and fail only when AWS refused the VPC.
        ("dev", "vpc_cidr: 10.10.0.0/16", "vpc_cidr: 'fd00::/16'", "platform.network.vpc_cidr"),
        (
            "dev",
            "public_access_cidrs: [203.0.113.0/24]",
            "public_access_cidrs: [0.0.0.0/0]",
            "platform.cluster",
        ),
        ("staging", "slo: {error_rate: 0.02}", "slo: {error_rate: 2}", "platform.monitoring.slo.error_rate"),
        ("local", "target: kubernetes", "target: aws", "platform"),
        (
            "dev",
            "client_namespaces: [modelops-jobs]",
            "client_namespaces: [modelops-jobs]\n    job_service_account: Jobs_SA",
            "platform.registry.job_service_account",
        ),
    ],
)
def test_an_invalid_value_names_the_file_and_the_field(repo_root, tmp_path, name, old, new, field):
    root = _copy(repo_root, tmp_path)
    _edit(root, name, old, new)
    with pytest.raises(InputError, match=re.escape(f"{name}.yaml: field '{field}")) as caught:
        load_settings(name, root=root)
    assert "\n" not in str(caught.value)


def test_gpu_inference_without_gpu_nodes_is_refused(repo_root, tmp_path):
    root = _copy(repo_root, tmp_path)
    _edit(root, "dev", "gpu_inference: false", "gpu_inference: true")  # dev has no gpu_nodes
    with pytest.raises(InputError, match=r"serving\.gpu_inference needs cluster\.gpu_nodes"):
        load_settings("dev", root=root)


# --- The shared registry stack's file, and the environments' reference to it.


def _edit_registry(root: Path, old: str, new: str) -> None:
    path = root / REGISTRY_SETTINGS
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_registry_file_loads_with_every_aws_environment_as_a_reader(repo_root):
    stack = load_registry_settings(root=repo_root)
    assert stack.name == "registry"
    assert [r.environment for r in stack.settings.readers] == ["dev", "staging", "prod"]
    for name in ("dev", "staging", "prod"):
        assert stack.github_repository == load_settings(name, root=repo_root).github_repository


def test_the_registry_file_is_no_promotion_environment(repo_root):
    # The gates enumerate environments/*.yaml, one level: the registry must not become a rung.
    names = {path.stem for path in (repo_root / "environments").glob("*.yaml")}
    assert "registry" not in names and (repo_root / REGISTRY_SETTINGS).is_file()
    assert REGISTRY_SETTINGS.parent != Path("environments")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # One account named for two environments: they would share the reader's grant.
        ('account_id: "200000000002"', 'account_id: "200000000001"', "account 200000000001 is listed twice"),
        ("environment: staging", "environment: dev", "environment dev is listed twice"),
        ('account_id: "200000000003"', 'account_id: "100000000000"', "prod is in the registry's own account"),
        ('account_id: "200000000003"', 'account_id: "2000000003"', "readers.2.account_id"),
        (
            "github_repository: example-org/modelops-platform",
            "github_repository: example-org",
            "github_repository",
        ),
        ("  db_storage_gb: 100", "  db_storage_gb: 100\n  db_size: 100", "registry.db_size"),
    ],
)
def test_an_invalid_registry_file_names_the_file_and_the_field(repo_root, tmp_path, old, new, message):
    root = _copy(repo_root, tmp_path)
    _edit_registry(root, old, new)
    with pytest.raises(InputError, match=re.escape("registry.yaml: field '")) as caught:
        load_registry_settings(root=root)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_aws_environment_the_registry_does_not_list_is_refused(repo_root, tmp_path):
    root = _copy(repo_root, tmp_path)
    _edit_registry(root, '  - {environment: staging, account_id: "200000000002"}\n', "")
    with pytest.raises(InputError, match="environment staging runs on AWS and is not a reader"):
        load_registry_settings(root=root)


def test_a_reader_that_is_no_aws_environment_is_refused(repo_root, tmp_path):
    root = _copy(repo_root, tmp_path)
    _edit_registry(root, "environment: prod", "environment: local")
    with pytest.raises(InputError, match="local is not an environment on AWS"):
        load_registry_settings(root=root)


def test_a_registry_trusting_another_repository_than_the_environments_is_refused(repo_root, tmp_path):
    root = _copy(repo_root, tmp_path)
    _edit_registry(root, "github_repository: example-org/modelops-platform", "github_repository: evil/fork")
    with pytest.raises(InputError, match="field 'github_repository': evil/fork is not"):
        load_registry_settings(root=root)


def test_an_environment_stack_without_a_registry_reference_is_refused(repo_root, tmp_path):
    root = _copy(repo_root, tmp_path)
    _edit(root, "dev", "    stack: example-org/modelops-platform/registry\n", "")
    with pytest.raises(InputError, match=re.escape("dev.yaml: field 'platform.registry.stack'")):
        load_settings("dev", root=root)


@pytest.mark.parametrize(
    ("new", "field"),
    [
        # The hosted registry's sizes belong to the registry stack: an environment keeping them is refused.
        (
            "stack: example-org/modelops-platform/registry\n    db_instance_class: db.t4g.small",
            "db_instance_class",
        ),
        ("stack: example-org/modelops-platform/registry\n    mlflow_replicas: 2", "mlflow_replicas"),
        # A short name would resolve in whatever organisation runs the preview.
        ("stack: registry", "stack"),
        # Another stack of the project (an environment's) is no registry.
        ("stack: example-org/modelops-platform/dev", "stack"),
    ],
)
def test_an_environment_keeping_a_registry_of_its_own_is_refused(repo_root, tmp_path, new, field):
    root = _copy(repo_root, tmp_path)
    _edit(root, "prod", "stack: example-org/modelops-platform/registry", new)
    with pytest.raises(InputError, match=re.escape(f"prod.yaml: field 'platform.registry.{field}'")):
        load_settings("prod", root=root)


def test_only_the_registry_stack_reads_the_registry_file(repo_root):
    assert (
        load_stack_settings("registry", settings_file=str(REGISTRY_SETTINGS), root=repo_root).name
        == "registry"
    )
    assert load_stack_settings("dev", settings_file=None, root=repo_root).name == "dev"
    with pytest.raises(InputError, match="must name modelops:settings"):
        load_stack_settings("registry", settings_file=None, root=repo_root)
    with pytest.raises(InputError, match="only stack registry reads a settings file"):
        load_stack_settings("dev", settings_file=str(REGISTRY_SETTINGS), root=repo_root)
    with pytest.raises(InputError, match="only stack registry reads a settings file"):
        load_stack_settings("registry", settings_file="environments/prod.yaml", root=repo_root)


def test_the_registry_stacks_pulumi_file_names_the_registry_settings(repo_root):
    text = (repo_root / "infra" / "Pulumi.registry.yaml").read_text()
    assert f"modelops:settings: {REGISTRY_SETTINGS.as_posix()}" in text
