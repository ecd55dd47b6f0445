"""The VPC: three zones, NAT as configured, and the interface endpoints images and artifacts use."""

from __future__ import annotations

import pytest

from modelops_infra.settings import load_settings
from tests.infra.conftest import AWS_STACKS


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_network_spans_three_zones_with_nat_and_endpoints(stacks, repo_root, name):
    stack, settings = stacks[name], load_settings(name, root=repo_root)
    zones = {s.inputs["availabilityZone"] for s in stack.of_type("aws:ec2/subnet:Subnet")}
    assert zones == set(settings.platform.aws.availability_zones)
    nats = stack.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (1 if settings.platform.network.nat_gateways == "one" else 3)
    services = {
        e.inputs["serviceName"].rsplit(".", 1)[-1] for e in stack.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert {"s3", "dkr", "api"} <= services
