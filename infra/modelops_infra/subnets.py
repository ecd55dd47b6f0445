"""The VPC's address plan, a pure function of the configured CIDR and zones.

Known before anything exists, so network policies can name the object-store endpoints and
the database tier by address. Four tiers, one subnet per zone each:
private (nodes and pods; the VPC CNI gives pods subnet addresses, so it gets half the VPC),
public (load balancers, NAT), endpoints (interface VPC endpoints only) and data (RDS).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class SubnetPlan:
    private: tuple[str, ...]
    public: tuple[str, ...]
    endpoints: tuple[str, ...]
    data: tuple[str, ...]


def plan_subnets(vpc_cidr: str, zones: int) -> SubnetPlan:
    vpc = ipaddress.IPv4Network(vpc_cidr)  # the settings admit IPv4 blocks only
    quarters = list(vpc.subnets(prefixlen_diff=2))
    private = quarters[:zones]
    sixteenths = list(quarters[3].subnets(prefixlen_diff=2))
    public = sixteenths[:zones]
    small = list(sixteenths[3].subnets(prefixlen_diff=3))
    endpoints, data = small[:zones], small[zones : 2 * zones]

    def names(nets: list[ipaddress.IPv4Network]) -> tuple[str, ...]:
        return tuple(str(net) for net in nets)

    return SubnetPlan(names(private), names(public), names(endpoints), names(data))
