"""What makes a list of client networks an allow-list rather than the internet in pieces.

One rule, used by the stack's settings (refused at load time) and by CrossGuard (refused at
preview), so the two cannot disagree. Standard library only: the policy pack imports it too.

An allow-list names the organisation's own networks: an office or VPN egress range, a NAT
gateway's address. Refused:
- an empty list (it would admit no one, and some consumers read "no ranges" as "no restriction":
  a Service's empty `loadBalancerSourceRanges` opens its load balancer to the world);
- anything that is not a network address (`10.0.0.1/8` has host bits: a typo, or a wider range
  than the author meant);
- `0.0.0.0/0`, `::/0` and any range wider than /16 (IPv4: 65,536 addresses) or /48 (IPv6: one
  site's allocation), so the internet cannot come back as `0.0.0.0/1` plus `128.0.0.0/1`;
- IPv4-mapped IPv6 ranges (`::ffff:0:0/96` is every IPv4 client, written as IPv6).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

# The widest network an allow-list may name, per address family (the prefix length at least).
NARROWEST_PREFIX = {4: 16, 6: 48}


def allow_list_problems(cidrs: Sequence[object]) -> list[str]:
    """Every reason `cidrs` is not an acceptable allow-list, one line each; [] when it is."""
    if not cidrs:
        return ["the allow-list is empty: name at least one client network"]
    problems = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(str(cidr), strict=True)
        except ValueError:
            problems.append(f"{cidr!r} is not a network address (CIDR without host bits)")
            continue
        if network.prefixlen == 0:
            problems.append(f"{cidr} is the whole internet, never an allow-list")
        elif network.prefixlen < NARROWEST_PREFIX[network.version]:
            widest = NARROWEST_PREFIX[network.version]
            problems.append(f"{cidr} is wider than /{widest}: name the organisation's own networks")
        elif isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
            problems.append(f"{cidr} is an IPv4-mapped range: name the IPv4 network itself")
    return problems
