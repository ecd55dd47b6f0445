"""`pulumi preview --policy-pack policies/crossguard`: mandatory in prod and staging."""

import os

from pulumi_policy import PolicyPack

from modelops_policies import ALL_POLICIES, enforcement_for

PolicyPack(
    name="modelops-platform",
    enforcement_level=enforcement_for(os.environ.get("PULUMI_STACK", "")),
    policies=ALL_POLICIES,
)
