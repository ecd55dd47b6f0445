"""CrossGuard rules for the platform; each validator is a plain function tests can call."""

from modelops_policies.pack import ALL_POLICIES, POLICIES, STACK_POLICIES, enforcement_for

__all__ = ["ALL_POLICIES", "POLICIES", "STACK_POLICIES", "enforcement_for"]
