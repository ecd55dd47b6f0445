"""cert-manager and Envoy Gateway with its GatewayClass: what any Gateway of the platform needs.

The environments' clusters put the models' Gateway on it (serving.py); the registry's cluster, the
registry's own TLS Gateway (registry_gateway.py).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from modelops_infra import layout as L
from modelops_infra.components.helm import release
from modelops_infra.versions import CERT_MANAGER, ENVOY_GATEWAY

GATEWAY_CLASS = L.GATEWAY_CLASS


def cert_manager_values() -> dict[str, object]:
    return {
        "crds": {"enabled": True},
        # The DNS01 self-check asks the cluster's resolver (kube-dns), not each zone's authoritative
        # servers directly on port 53, which the namespaces' default-deny egress does not allow.
        "extraArgs": ["--dns01-recursive-nameservers-only"],
    }


class Ingress(pulumi.ComponentResource):
    cert_manager: pulumi.Resource
    envoy_gateway: pulumi.Resource
    gateway_class: pulumi.Resource

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Ingress", name, None, opts)
        self.cert_manager = release(
            f"{name}-cert-manager",
            CERT_MANAGER,
            release_name="cert-manager",
            namespace=L.CERT_MANAGER_NAMESPACE,
            values=cert_manager_values(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The Envoy Gateway chart also installs the Gateway API CRDs.
        self.envoy_gateway = release(
            f"{name}-envoy-gateway",
            ENVOY_GATEWAY,
            release_name="envoy-gateway",
            namespace=L.GATEWAY_NAMESPACE,
            values={},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-gatewayclass",
            api_version="gateway.networking.k8s.io/v1",
            kind="GatewayClass",
            metadata={"name": GATEWAY_CLASS},
            spec={"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.envoy_gateway]),
        )
        self.register_outputs({})
