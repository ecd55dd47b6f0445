"""EKS clusters enforce NetworkPolicies: a managed `vpc-cni` add-on with `enableNetworkPolicy` on.

Without it the VPC CNI accepts NetworkPolicy objects and enforces none, so every default-deny and
allow-list the platform declares would be decoration. Two rules: the add-on's own configuration
(resource level), and every cluster having such an add-on at all (stack level, since a missing
resource can only be seen across the stack).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from modelops_policies.kubernetes_rules import EXACT_VERSION

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
VPC_CNI = "vpc-cni"


def enforces_network_policy(props: Mapping[str, Any]) -> bool:
    """True when the add-on's configuration values (JSON) turn network policy enforcement on.

    Fails closed: absent, unparsable (EKS also takes YAML; the platform writes JSON) or any value
    other than true is not enforcement.
    """
    raw = props.get("configurationValues")
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return False
    return isinstance(values, dict) and str(values.get("enableNetworkPolicy")).lower() == "true"


def vpc_cni_enforces_network_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ADDON or args.props.get("addonName") != VPC_CNI:
        return
    if not enforces_network_policy(args.props):
        report('The vpc-cni add-on must set configurationValues {"enableNetworkPolicy": "true"}.', None)
    if not EXACT_VERSION.match(str(args.props.get("addonVersion") or "")):
        report("The vpc-cni add-on must pin an exact addonVersion (v1.14 or later enforces policies).", None)


def _names(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """`resource.prop` points at `target`: by the engine's dependency record, or by its literal name."""
    if any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, [])):
        return True
    name = target.props.get("name")
    return name is not None and resource.props.get(prop) == name


def clusters_enforce_network_policy(args: StackValidationArgs, report: ReportViolation) -> None:
    addons = [r for r in args.resources if r.resource_type == ADDON and r.props.get("addonName") == VPC_CNI]
    for cluster in (r for r in args.resources if r.resource_type == CLUSTER):
        mine = [addon for addon in addons if _names(addon, "clusterName", cluster)]
        if not any(enforces_network_policy(addon.props) for addon in mine):
            report(
                f"EKS cluster '{cluster.props.get('name', cluster.name)}' has no vpc-cni add-on with "
                "enableNetworkPolicy: its NetworkPolicies would not be enforced.",
                cluster.urn,
            )
