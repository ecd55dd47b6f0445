"""CrossGuard rules for the platform; each validator is a plain function tests can call."""

from modelops_policies.pack import POLICIES, enforcement_for

__all__ = ["POLICIES", "enforcement_for"]
