"""VPC over three zones: private, public, endpoint and data subnets, NAT, S3 and ECR endpoints."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from modelops_infra.settings import AwsSettings, NetworkSettings
from modelops_infra.subnets import SubnetPlan, plan_subnets

# Interface endpoints: image pulls and artifact reads never leave the VPC. S3 goes through an
# interface endpoint (not the cheaper gateway endpoint) on purpose: its addresses sit in the
# endpoint subnets, so network policies can allow "the object store" and nothing else.
_INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "s3", "sts")


@dataclass(frozen=True)
class NetworkArgs:
    name: str
    aws: AwsSettings
    network: NetworkSettings


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    data_subnet_ids: list[pulumi.Output[str]]
    nat_public_ips: list[pulumi.Output[str]]
    plan: SubnetPlan

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Network", name, None, opts)
        zones = args.aws.availability_zones
        self.plan = plan_subnets(args.network.vpc_cidr, len(zones))
        child = pulumi.ResourceOptions(parent=self)
        tags = {"modelops:environment": args.name}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.network.vpc_cidr,
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            enable_dns_support=True,
            tags={**tags, "Name": f"modelops-{args.name}"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tags,
            opts=child,
        )

        def subnet(tier: str, index: int, cidr: str, extra: dict[str, str]) -> aws.ec2.Subnet:
            return aws.ec2.Subnet(
                f"{name}-{tier}-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zones[index],
                map_public_ip_on_launch=False,
                tags={**tags, **extra, "Name": f"modelops-{args.name}-{tier}-{zones[index]}"},
                opts=child,
            )

        public = [
            subnet("public", i, cidr, {"kubernetes.io/role/elb": "1"})
            for i, cidr in enumerate(self.plan.public)
        ]
        private = [
            subnet("private", i, cidr, {"kubernetes.io/role/internal-elb": "1"})
            for i, cidr in enumerate(self.plan.private)
        ]
        endpoints = [subnet("endpoints", i, cidr, {}) for i, cidr in enumerate(self.plan.endpoints)]
        data = [subnet("data", i, cidr, {}) for i, cidr in enumerate(self.plan.data)]
        for i, public_subnet in enumerate(public):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=public_subnet.id, route_table_id=public_rt.id, opts=child
            )

        nat_count = 1 if args.network.nat_gateways == "one" else len(zones)
        nats = []
        eips = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags, opts=child)
            eips.append(eip)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public[i].id, tags=tags, opts=child
                )
            )
        for i, private_subnet in enumerate(private):
            table = aws.ec2.RouteTable(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[i % nat_count].id)
                ],
                tags=tags,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}", subnet_id=private_subnet.id, route_table_id=table.id, opts=child
            )

        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=vpc.id,
            description="HTTPS to interface endpoints from inside the VPC only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=443, to_port=443, cidr_blocks=[args.network.vpc_cidr]
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp", from_port=443, to_port=443, cidr_blocks=[args.network.vpc_cidr]
                )
            ],
            tags=tags,
            opts=child,
        )
        for service in _INTERFACE_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.aws.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in endpoints],
                security_group_ids=[endpoint_sg.id],
                tags=tags,
                opts=child,
            )

        self.vpc_id = vpc.id
        # The addresses the cluster's egress leaves from: the registry's allow-list names them.
        self.nat_public_ips = [eip.public_ip for eip in eips]
        self.private_subnet_ids = [s.id for s in private]
        self.data_subnet_ids = [s.id for s in data]
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids})
