"""A cluster without an enforcing vpc-cni add-on is refused; one with it passes."""

from __future__ import annotations

import json

import pytest

from modelops_policies import STACK_POLICIES, network_rules
from tests.policies.stack_args import resource, resource_args, stack, violations

CLUSTER, ADDON = network_rules.CLUSTER, network_rules.ADDON
ENFORCING = json.dumps({"enableNetworkPolicy": "true"})


def _cluster(name="modelops-prod"):
    return resource(CLUSTER, "eks", {"name": name})


def _addon(cluster_name="modelops-prod", *, values=ENFORCING, addon="vpc-cni", version="v1.20.1-eksbuild.3"):
    props = {"clusterName": cluster_name, "addonName": addon, "addonVersion": version}
    if values is not None:
        props["configurationValues"] = values
    return resource(ADDON, f"{addon}-{cluster_name}", props)


def test_a_cluster_with_an_enforcing_vpc_cni_passes():
    assert not violations(network_rules.clusters_enforce_network_policy, stack([_cluster(), _addon()]))


def test_the_add_on_may_name_its_cluster_through_the_engines_dependency_record():
    cluster = resource(CLUSTER, "eks", {})  # autonamed: the name is not in the props
    addon = resource(
        ADDON,
        "cni",
        {"clusterName": "unknown-at-preview", "addonName": "vpc-cni", "configurationValues": ENFORCING},
        depends={"clusterName": [cluster]},
    )
    assert not violations(network_rules.clusters_enforce_network_policy, stack([cluster, addon]))


@pytest.mark.parametrize(
    "addons",
    [
        [],  # only the Pod Identity agent, as before: NetworkPolicies are inert
        [_addon(addon="eks-pod-identity-agent")],
        [_addon(values=None)],  # the add-on at its defaults: enforcement off
        [_addon(values=json.dumps({"enableNetworkPolicy": "false"}))],
        [_addon(values="enableNetworkPolicy: true")],  # YAML: the rule reads JSON only, fails closed
        [_addon(values=json.dumps({"nodeAgent": {"enableNetworkPolicy": "true"}}))],  # wrong level
        [_addon("modelops-staging")],  # another cluster's add-on does not count for this one
    ],
    ids=["none", "other-add-on", "defaults", "false", "yaml", "nested", "other-cluster"],
)
def test_a_cluster_without_an_enforcing_vpc_cni_is_caught(addons):
    found = violations(network_rules.clusters_enforce_network_policy, stack([_cluster(), *addons]))
    assert found and "modelops-prod" in found[0]


def test_each_of_two_clusters_needs_its_own_add_on():
    found = violations(
        network_rules.clusters_enforce_network_policy,
        stack([_cluster(), _cluster("modelops-dev"), _addon("modelops-dev")]),
    )
    assert len(found) == 1 and "modelops-prod" in found[0]


@pytest.mark.parametrize(
    "props",
    [
        {"addonName": "vpc-cni", "addonVersion": "v1.20.1-eksbuild.3"},
        {"addonName": "vpc-cni", "addonVersion": "v1.20.1-eksbuild.3", "configurationValues": "{"},
        {"addonName": "vpc-cni", "configurationValues": ENFORCING},  # EKS's default version: unpinned
    ],
    ids=["no-values", "unparsable", "unpinned"],
)
def test_a_bad_vpc_cni_add_on_is_caught_on_its_own(props):
    assert violations(network_rules.vpc_cni_enforces_network_policy, resource_args(ADDON, props))


def test_a_good_vpc_cni_add_on_and_other_add_ons_pass_on_their_own():
    good = {"addonName": "vpc-cni", "addonVersion": "v1.20.1-eksbuild.3", "configurationValues": ENFORCING}
    other = {"addonName": "eks-pod-identity-agent"}
    for props in (good, other):
        assert not violations(network_rules.vpc_cni_enforces_network_policy, resource_args(ADDON, props))


def test_the_stack_rule_is_in_the_pack():
    assert "eks-network-policy-enforced" in {p.name for p in STACK_POLICIES}
