"""The registry's public ingress: MLflow over TLS through Envoy Gateway, to allow-listed clients only.

Declared in the registry stack's cluster after Serving (Envoy Gateway, its GatewayClass, cert-manager)
and Registry (MLflow's Service); the objects are built in `manifests/registry_gateway.py`, the network
path in `manifests/network_policies.registry_gateway_policies`. The Kubernetes provider comes with
`opts` and reaches every child through `parent=self`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from modelops_infra.manifests.network_policies import registry_gateway_policies
from modelops_infra.manifests.registry_gateway import (
    public_allowed_hosts,
    public_allowed_origins,
    registry_gateway_manifests,
)
from modelops_infra.settings import RegistryIngressSettings


@dataclass(frozen=True)
class RegistryGatewayArgs:
    ingress: RegistryIngressSettings
    # The public subnets the load balancer's nodes are placed in (subnets.plan_subnets(...).public).
    load_balancer_cidrs: tuple[str, ...]


class RegistryGateway(pulumi.ComponentResource):
    url: str  # what people and the environment clusters' jobs set as MLFLOW_TRACKING_URI
    allowed_hosts: list[str]  # to add to MLflow's --allowed-hosts
    allowed_origins: list[str]  # to pass as MLflow's --cors-allowed-origins

    def __init__(
        self, name: str, args: RegistryGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelops:platform:RegistryGateway", name, None, opts)
        declared: list[pulumi.Resource] = []
        for manifest in registry_gateway_manifests(args.ingress):
            meta = manifest["metadata"]
            declared.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-{manifest['kind'].lower()}-{meta['name']}",
                    api_version=manifest["apiVersion"],
                    kind=manifest["kind"],
                    metadata=meta,
                    spec=manifest["spec"],
                    # One after the other, in the builder's order: policies before their targets
                    # (created before and deleted after them), the route last.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=declared[-1:]),
                )
            )
        for policy in registry_gateway_policies(args.load_balancer_cidrs):
            meta = policy["metadata"]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{meta['namespace']}-{meta['name']}",
                metadata=meta,
                spec=policy["spec"],
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.url = f"https://{args.ingress.hostname}"
        self.allowed_hosts = public_allowed_hosts(args.ingress.hostname)
        self.allowed_origins = public_allowed_origins(args.ingress.hostname)
        self.register_outputs({"url": self.url})
