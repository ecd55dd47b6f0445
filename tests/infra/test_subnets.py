"""The VPC's address plan: every tier one subnet per zone, none overlapping."""

from __future__ import annotations

from modelops_infra.subnets import plan_subnets


def test_the_subnet_plan_gives_every_tier_one_disjoint_subnet_per_zone():
    import ipaddress

    plan = plan_subnets("10.30.0.0/16", 3)
    tiers = [plan.private, plan.public, plan.endpoints, plan.data]
    nets = [ipaddress.ip_network(cidr) for tier in tiers for cidr in tier]
    assert all(len(tier) == 3 for tier in tiers)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert all(net.subnet_of(ipaddress.ip_network("10.30.0.0/16")) for net in nets)
    # Pods take addresses from the private tier, so it is the largest.
    assert min(n.num_addresses for n in nets[:3]) > max(n.num_addresses for n in nets[3:])
