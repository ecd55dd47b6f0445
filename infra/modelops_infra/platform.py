"""Wires the components of one stack together; the only place that knows their order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from modelops.errors import InputError
from modelops_infra import layout as L
from modelops_infra.ci_access import CiAccess, CiAccessArgs
from modelops_infra.cluster import Cluster, ClusterArgs
from modelops_infra.gitops import GitOps, GitOpsArgs
from modelops_infra.monitoring import Monitoring, MonitoringArgs
from modelops_infra.netpol import aws_backends, local_backends
from modelops_infra.network import Network, NetworkArgs
from modelops_infra.registry import AwsPlacement, Registry, RegistryArgs
from modelops_infra.security import Security, SecurityArgs
from modelops_infra.serving import Serving, ServingArgs
from modelops_infra.settings import Settings
from modelops_infra.subnets import plan_subnets


@dataclass(frozen=True)
class Platform:
    security: Security
    registry: Registry
    monitoring: Monitoring
    serving: Serving
    gitops: GitOps
    cluster: Cluster | None
    ci: CiAccess | None


def build(settings: Settings, *, bootstrap_dir: Path) -> Platform:
    """Declare every resource of the stack; call once inside a Pulumi program (or under mocks)."""
    platform = settings.platform
    owned = {ns.name for ns in L.owned_namespaces(settings.models_namespace, local=not settings.on_aws)}
    for client in platform.registry.client_namespaces:
        if client not in owned:
            raise InputError(
                f"{settings.source}: field 'platform.registry.client_namespaces': "
                f"{client} is not a platform namespace"
            )

    cluster = ci = None
    placement = None
    if settings.on_aws:
        assert platform.aws and platform.network and platform.cluster and platform.ci  # checked by the model
        network = Network("network", NetworkArgs(settings.name, platform.aws, platform.network))
        cluster = Cluster(
            "cluster",
            ClusterArgs(
                settings.name, platform.cluster, network.private_subnet_ids, platform.serving.gpu_inference
            ),
        )
        provider = cluster.provider
        plan = plan_subnets(platform.network.vpc_cidr, len(platform.aws.availability_zones))
        backends = aws_backends(plan.endpoints, plan.data)
        placement = AwsPlacement(
            network.vpc_id, network.data_subnet_ids, cluster.cluster_security_group_id, cluster.oidc_provider
        )
        ci = CiAccess(
            "ci",
            CiAccessArgs(settings.github_repository, settings.name, platform.ci.create_oidc_provider),
        )
    else:
        provider = k8s.Provider("local-k8s", context=platform.kube_context)
        backends = local_backends()

    on_cluster = pulumi.ResourceOptions(provider=provider)
    security = Security(
        "security",
        SecurityArgs(
            settings.models_namespace,
            backends,
            list(platform.registry.client_namespaces),
            not settings.on_aws,
        ),
        opts=on_cluster,
    )
    after_security = pulumi.ResourceOptions(provider=provider, depends_on=[security])
    registry = Registry(
        "registry", RegistryArgs(settings.name, platform.registry, placement), opts=after_security
    )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            models_namespace=settings.models_namespace,
            retention=platform.monitoring.retention,
            error_rate=platform.monitoring.slo.error_rate,
            p95_ms=settings.environment.promotion.latency.p95_ms,
            drift_threshold=settings.environment.promotion.drift.distance_threshold,
        ),
        opts=after_security,
    )
    serving = Serving("serving", ServingArgs(settings.models_namespace), opts=after_security)
    gitops = GitOps(
        "gitops",
        GitOpsArgs(settings.environment.gitops.repo_url, bootstrap_dir, settings.environment.name),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[security, serving, monitoring]),
    )
    return Platform(security, registry, monitoring, serving, gitops, cluster, ci)
