"""EKS: encrypted secrets, control-plane logs, a private endpoint outside dev, IMDSv2-only nodes,
NetworkPolicies enforced by the VPC CNI."""

from __future__ import annotations

import json

import pytest

from modelops_infra import versions
from modelops_infra.settings import load_settings
from modelops_policies import network_rules
from tests.infra.conftest import AWS_STACKS
from tests.policies.stack_args import from_declared, resource_args, violations


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


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_managed_vpc_cni_enforces_network_policy_at_the_pinned_version_before_nodes_join(stacks, name):
    (addon,) = [a for a in stacks[name].of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert addon.inputs["clusterName"] == f"modelops-{name}"
    assert addon.inputs["addonVersion"] == versions.VPC_CNI_ADDON_VERSION
    assert json.loads(addon.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    # It replaces the self-managed CNI EKS installs with every cluster instead of failing on it.
    assert addon.inputs["resolveConflictsOnCreate"] == "OVERWRITE"


@pytest.mark.parametrize("name", AWS_STACKS)
def test_every_aws_stack_passes_the_network_policy_rules(stacks, name):
    declared = stacks[name].resources
    assert not violations(network_rules.clusters_enforce_network_policy, from_declared(declared, name=name))
    for addon in stacks[name].of_type("aws:eks/addon:Addon"):
        args = resource_args(addon.type, addon.inputs, stack=name)
        assert not violations(network_rules.vpc_cni_enforces_network_policy, args)


def test_the_local_stack_declares_no_cluster_add_ons(stacks):
    # The laptop cluster brings its own CNI (infra/README.md); nothing here configures it.
    assert not stacks["local"].of_type("aws:eks/addon:Addon")
    assert not stacks["local"].of_type("aws:eks/cluster:Cluster")


def test_the_rule_catches_the_stack_without_its_add_on(stacks):
    # The same prod stack, minus the add-on, as the stack was before network policy was enforced.
    declared = [
        d for d in stacks["prod"].resources if not (d.type.endswith("addon:Addon") and "vpc-cni" in d.name)
    ]
    found = violations(network_rules.clusters_enforce_network_policy, from_declared(declared, name="prod"))
    assert found == [
        "EKS cluster 'modelops-prod' has no vpc-cni add-on with enableNetworkPolicy: "
        "its NetworkPolicies would not be enforced."
    ]
