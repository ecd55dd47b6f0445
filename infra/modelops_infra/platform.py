"""Wires the components of one stack together; the only place that knows their order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from modelops.errors import InputError
from modelops_infra import layout as L
from modelops_infra.components.artifact_access import ArtifactAccess, ArtifactAccessArgs, Grantee
from modelops_infra.components.ci_access import CiAccess, CiAccessArgs, MlflowLogin
from modelops_infra.components.cluster import Cluster, ClusterArgs, cluster_name
from modelops_infra.components.gitops import GitOps, GitOpsArgs
from modelops_infra.components.monitoring import Monitoring, MonitoringArgs
from modelops_infra.components.network import Network, NetworkArgs
from modelops_infra.components.registry import AwsPlacement, Registry, RegistryArgs, writer_namespaces
from modelops_infra.components.registry_users import CI_USERS
from modelops_infra.components.security import Security, SecurityArgs
from modelops_infra.components.serving import Serving, ServingArgs
from modelops_infra.gitops_models import model_accounts
from modelops_infra.manifests.alert_routing import DispatchTarget
from modelops_infra.manifests.network_policies import aws_backend_peers, local_backend_peers
from modelops_infra.settings import Settings
from modelops_infra.subnets import plan_subnets
from modelops_infra.versions import mlflow_server_image


@dataclass(frozen=True)
class Platform:
    security: Security
    registry: Registry
    monitoring: Monitoring
    serving: Serving
    gitops: GitOps
    cluster: Cluster | None
    ci: CiAccess | None
    artifacts: ArtifactAccess | None  # Pod Identity roles for model pods and jobs (AWS only)


def build(settings: Settings, *, bootstrap_dir: Path, models_dir: Path) -> Platform:
    """Declare every resource of the stack; call once inside a Pulumi program (or under mocks).

    `models_dir` is gitops/models: each model served in this environment gets its service account
    granted read access to the artifact bucket.
    """
    platform = settings.platform
    models = model_accounts(models_dir, settings.name)  # read first: a bad file stops before anything
    owned = {ns.name for ns in L.owned_namespaces(settings.models_namespace, local=not settings.on_aws)}
    for client in platform.registry.client_namespaces:
        if client not in owned:
            raise InputError(
                f"{settings.source}: field 'platform.registry.client_namespaces': "
                f"{client} is not a platform namespace"
            )

    cluster = ci = artifacts = None
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
        peers = aws_backend_peers(plan.endpoints, plan.data)
        placement = AwsPlacement(
            network.vpc_id, network.data_subnet_ids, cluster.cluster_security_group_id, cluster.oidc_provider
        )
    else:
        provider = k8s.Provider("local-k8s", context=platform.kube_context)
        peers = local_backend_peers()

    on_cluster = pulumi.ResourceOptions(provider=provider)
    security = Security(
        "security",
        SecurityArgs(
            settings.models_namespace,
            peers,
            list(platform.registry.client_namespaces),
            not settings.on_aws,
        ),
        opts=on_cluster,
    )
    after_security = pulumi.ResourceOptions(provider=provider, depends_on=[security])
    registry = Registry(
        "registry",
        RegistryArgs(
            settings.name,
            platform.registry,
            placement,
            image=mlflow_server_image(settings.github_repository),
            models_namespace=settings.models_namespace,
            # CI's MLflow logins, only where CI has roles to fetch them with.
            service_users=tuple(CI_USERS.values()) if settings.on_aws else (),
        ),
        opts=after_security,
    )
    if settings.on_aws:
        assert cluster is not None and platform.ci
        writers = writer_namespaces(platform.registry)
        artifacts = ArtifactAccess(
            "artifacts",
            ArtifactAccessArgs(
                cluster_name=cluster_name(settings.name),
                cluster=cluster.name,
                bucket_arn=registry.bucket_arn,
                readers=Grantee(settings.models_namespace, [m.service_account for m in models]),
                writers=Grantee(writers[0], [platform.registry.job_service_account]) if writers else None,
                agent=cluster.pod_identity_agent,
            ),
        )
        logins = {
            kind: MlflowLogin(user.username, registry.service_passwords[user.username])
            for kind, user in CI_USERS.items()
        }
        ci = CiAccess(
            "ci",
            CiAccessArgs(
                settings.github_repository,
                settings.name,
                platform.ci.create_oidc_provider,
                bucket_arn=registry.bucket_arn,
                logins=logins,
            ),
        )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            models_namespace=settings.models_namespace,
            retention=platform.monitoring.retention,
            error_rate=platform.monitoring.slo.error_rate,
            p95_ms=settings.environment.promotion.latency.p95_ms,
            drift_threshold=settings.environment.promotion.drift.distance_threshold,
            # A laptop's cluster must not open pull requests on the shared repository.
            dispatch=DispatchTarget(settings.github_repository, settings.name) if settings.on_aws else None,
        ),
        opts=after_security,
    )
    serving = Serving("serving", ServingArgs(settings.models_namespace), opts=after_security)
    gitops = GitOps(
        "gitops",
        GitOpsArgs(settings.environment.gitops.repo_url, bootstrap_dir, settings.environment.name),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[security, serving, monitoring]),
    )
    return Platform(security, registry, monitoring, serving, gitops, cluster, ci, artifacts)
