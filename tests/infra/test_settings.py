"""The platform section of each environment file: loads, and bad values name file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops_infra import load_settings

STACKS = ("local", "dev", "staging", "prod")


@pytest.mark.parametrize("name", STACKS)
def test_every_environment_has_valid_platform_settings(repo_root, name):
    settings = load_settings(name, root=repo_root)
    assert settings.on_aws == (name != "local")
    assert settings.models_namespace == f"models-{name}"


def _copy(repo_root: Path, tmp_path: Path) -> Path:
    shutil.copytree(repo_root / "environments", tmp_path / "environments")
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
