"""Namespaces labelled for Pod Security Admission, default-deny and the explicit allows."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from modelops_infra.layout import ClusterRuns
from modelops_infra.manifests.network_policies import BackendPeers, namespace_manifests, network_policies


@dataclass(frozen=True)
class SecurityArgs:
    runs: ClusterRuns  # what the cluster runs: which namespaces it gets, and so which policies
    backend_peers: BackendPeers
    mlflow_clients: list[str]


class Security(pulumi.ComponentResource):
    namespaces: dict[str, k8s.core.v1.Namespace]

    def __init__(self, name: str, args: SecurityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Security", name, None, opts)
        self.namespaces = {}
        for manifest in namespace_manifests(args.runs):
            ns_name = manifest["metadata"]["name"]
            self.namespaces[ns_name] = k8s.core.v1.Namespace(
                f"{name}-ns-{ns_name}",
                metadata=manifest["metadata"],
                opts=pulumi.ResourceOptions(parent=self),
            )
        for policy in network_policies(args.runs, args.backend_peers, mlflow_clients=args.mlflow_clients):
            meta = policy["metadata"]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{meta['namespace']}-{meta['name']}",
                metadata=meta,
                spec=policy["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespaces[meta["namespace"]]]),
            )
        self.register_outputs({"namespaces": list(self.namespaces)})
