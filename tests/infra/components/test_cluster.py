"""EKS: encrypted secrets, control-plane logs, a private endpoint outside dev, IMDSv2-only nodes."""

from __future__ import annotations

import pytest

from modelops_infra.settings import load_settings
from tests.infra.conftest import AWS_STACKS


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_cluster_encrypts_secrets_logs_and_hides_its_endpoint_outside_dev(stacks, name):
    (cluster,) = stacks[name].of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert set(cluster.inputs["enabledClusterLogTypes"]) >= {"api", "audit", "authenticator"}
    public = cluster.inputs["vpcConfig"].get("endpointPublicAccess", True)  # absent = AWS default, public
    assert public is (name == "dev")
    for template in stacks[name].of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_gpu_node_groups_follow_the_environment(stacks, repo_root):
    for name in AWS_STACKS:
        groups = stacks[name].of_type("aws:eks/nodeGroup:NodeGroup")
        wants_gpu = load_settings(name, root=repo_root).platform.serving.gpu_inference
        assert any(g.inputs["amiType"].endswith("NVIDIA") for g in groups) is wants_gpu
