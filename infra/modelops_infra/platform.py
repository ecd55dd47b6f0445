"""Wires the components of one stack together; the only place that knows their order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from modelops.errors import InputError
from modelops_infra import layout as L
from modelops_infra.backends.aws_storage import artifact_bucket_name
from modelops_infra.backends.local_access import ENDPOINT_HOST, JOB_SECRET
from modelops_infra.components.artifact_access import ArtifactAccess, ArtifactAccessArgs, Grantee
from modelops_infra.components.ci_access import CiAccess, CiAccessArgs, MlflowLogin
from modelops_infra.components.cluster import Cluster, ClusterArgs, cluster_name
from modelops_infra.components.gitops import GitOps, GitOpsArgs
from modelops_infra.components.monitor_identity import (
    MONITOR_USER,
    MonitorIdentity,
    MonitorIdentityArgs,
    MonitorOnAws,
)
from modelops_infra.components.monitoring import Monitoring, MonitoringArgs
from modelops_infra.components.network import Network, NetworkArgs
from modelops_infra.components.payload_sink import PayloadSink, PayloadSinkArgs, SinkOnAws, store_uri
from modelops_infra.components.registry import AwsPlacement, Registry, RegistryArgs, writer_namespaces
from modelops_infra.components.registry_users import CI_USERS, ServiceUser
from modelops_infra.components.runners import Runners, RunnersArgs
from modelops_infra.components.security import Security, SecurityArgs
from modelops_infra.components.serving import Serving, ServingArgs
from modelops_infra.gitops_models import ModelAccount, model_accounts
from modelops_infra.manifests.alert_routing import DispatchTarget
from modelops_infra.manifests.model_monitor import (
    MonitorJob,
    MonitorNetwork,
    api_server_peers,
    local_api_server_peers,
)
from modelops_infra.manifests.network_policies import BackendPeers, aws_backend_peers, local_backend_peers
from modelops_infra.manifests.rollout_job import RolloutJob
from modelops_infra.settings import AwsPlatformSettings, LocalPlatformSettings, RunnerSettings, Settings
from modelops_infra.versions import mlflow_server_image, modelops_image, serving_runtime_image


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
    monitor: MonitorIdentity | None  # the monitor job's identity; None where no model is served


def build(settings: Settings, *, bootstrap_dir: Path, models_dir: Path) -> Platform:
    """Declare every resource of the stack; call once inside a Pulumi program (or under mocks).

    `models_dir` is gitops/models: each model served in this environment gets its service account
    granted read access to the artifact bucket.
    """
    models = model_accounts(models_dir, settings.name)  # read first: a bad file stops before anything
    owned = {ns.name for ns in L.owned_namespaces(settings.models_namespace, local=not settings.on_aws)}
    for client in settings.platform.registry.client_namespaces:
        if client not in owned:
            raise InputError(
                f"{settings.source}: field 'platform.registry.client_namespaces': "
                f"{client} is not a platform namespace"
            )
    match settings.platform:
        case AwsPlatformSettings() as platform:
            return _on_aws(settings, platform, models=models, bootstrap_dir=bootstrap_dir)
        case LocalPlatformSettings() as platform:
            return _on_kubernetes(settings, platform, models=models, bootstrap_dir=bootstrap_dir)


def _on_aws(
    settings: Settings, platform: AwsPlatformSettings, *, models: list[ModelAccount], bootstrap_dir: Path
) -> Platform:
    network = Network("network", NetworkArgs(settings.name, platform.aws, platform.network))
    cluster = Cluster(
        "cluster",
        ClusterArgs(
            settings.name, platform.cluster, network.private_subnet_ids, platform.serving.gpu_inference
        ),
    )
    peers = aws_backend_peers(network.plan.endpoints, network.plan.data)
    security = _security(settings, cluster.provider, peers, local=False)
    registry = _registry(
        settings,
        cluster.provider,
        security,
        placement=AwsPlacement(
            network.vpc_id, network.data_subnet_ids, cluster.cluster_security_group_id, cluster.oidc_provider
        ),
        # CI's MLflow logins, only where CI has roles to fetch them with; the monitor's wherever it runs.
        service_users=(*CI_USERS.values(), *_monitor_users(models)),
    )
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
    runners = RunnerSettings()  # platform.runners once AwsPlatformSettings carries the section
    Runners(
        "runners",
        RunnersArgs(
            settings.name,
            settings.github_repository,
            runners.min_runners,
            runners.max_runners,
        ),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[security]),
    )
    sink = SinkOnAws(
        cluster_name(settings.name),
        cluster.name,
        artifact_bucket_name(settings.name),
        registry.bucket_arn,
        platform.aws.region,
        cluster.pod_identity_agent,
    )
    monitor = _monitor_identity(
        settings,
        cluster.provider,
        registry,
        models=models,
        on_aws=MonitorOnAws(
            cluster_name(settings.name), cluster.name, registry.bucket_arn, cluster.pod_identity_agent
        ),
    )
    monitoring, serving, gitops = _services(
        settings,
        cluster.provider,
        security,
        bootstrap_dir=bootstrap_dir,
        dispatch=DispatchTarget(settings.github_repository, settings.name, tuple(m.model for m in models)),
        sink=sink,
        backend=peers,
        monitor=_monitor_plan(
            settings,
            models,
            identity=monitor,
            # EKS puts the API server's endpoints in the cluster's (private) subnets.
            network=MonitorNetwork(api_server_peers(network.plan.private), (L.HTTPS_PORT,), peers),
            store_env=(("AWS_REGION", platform.aws.region),),
            store_secret=None,
        ),
    )
    return Platform(security, registry, monitoring, serving, gitops, cluster, ci, artifacts, monitor)


def _on_kubernetes(
    settings: Settings, platform: LocalPlatformSettings, *, models: list[ModelAccount], bootstrap_dir: Path
) -> Platform:
    provider = k8s.Provider("local-k8s", context=platform.kube_context)
    backend = local_backend_peers()
    security = _security(settings, provider, backend, local=True)
    registry = _registry(settings, provider, security, placement=None, service_users=_monitor_users(models))
    monitor = _monitor_identity(settings, provider, registry, models=models, on_aws=None)
    monitoring, serving, gitops = _services(
        settings,
        provider,
        security,
        bootstrap_dir=bootstrap_dir,
        dispatch=None,  # a laptop's cluster must not open pull requests on the shared repository
        sink=None,
        backend=backend,
        monitor=_monitor_plan(
            settings,
            models,
            identity=monitor,
            network=MonitorNetwork(*local_api_server_peers(), backend),
            # MinIO, with the keys the jobs namespace holds (backends/local_access.py), as the sink.
            store_env=(("AWS_ENDPOINT_URL_S3", f"http://{ENDPOINT_HOST}"), ("AWS_REGION", "us-east-1")),
            store_secret=JOB_SECRET,
        ),
    )
    return Platform(
        security,
        registry,
        monitoring,
        serving,
        gitops,
        cluster=None,
        ci=None,
        artifacts=None,
        monitor=monitor,
    )


def _monitor_users(models: list[ModelAccount]) -> tuple[ServiceUser, ...]:
    return (MONITOR_USER,) if models else ()


def _monitor_identity(
    settings: Settings,
    provider: k8s.Provider,
    registry: Registry,
    *,
    models: list[ModelAccount],
    on_aws: MonitorOnAws | None,
) -> MonitorIdentity | None:
    if not models:
        return None  # nothing to monitor, so no identity that could read anything
    return MonitorIdentity(
        "monitor",
        MonitorIdentityArgs(
            settings.models_namespace, registry.service_passwords[MONITOR_USER.username], on_aws
        ),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[registry]),
    )


@dataclass(frozen=True)
class _MonitorPlan:
    """What the stack decided about the monitor before the services are declared."""

    models: tuple[str, ...]
    identity: MonitorIdentity
    network: MonitorNetwork
    store_env: tuple[tuple[str, str], ...]
    store_secret: str | None
    policy_files: tuple[tuple[str, str], ...]


def _monitor_plan(
    settings: Settings,
    models: list[ModelAccount],
    *,
    identity: MonitorIdentity | None,
    network: MonitorNetwork,
    store_env: tuple[tuple[str, str], ...],
    store_secret: str | None,
) -> _MonitorPlan | None:
    if identity is None:
        return None
    names = [m.model for m in models]
    files = monitor_policy_files(settings, names)
    return _MonitorPlan(tuple(names), identity, network, store_env, store_secret, files)


def monitor_policy_files(settings: Settings, models: list[str]) -> tuple[tuple[str, str], ...]:
    """The files `modelops monitor` reads its thresholds from, as the repository holds them now: the
    environment's and each served model's policy (read at program time; a missing policy stops here)."""
    root = settings.source.parent.parent
    files = [(f"environments/{settings.source.name}", settings.source.read_text(encoding="utf-8"))]
    for model in models:
        path = root / "policies" / "models" / f"{model}.yaml"
        if not path.is_file():
            raise InputError(
                f"{path}: missing; {model} is served in {settings.name} and its monitor reads it"
            )
        files.append((f"policies/models/{model}.yaml", path.read_text(encoding="utf-8")))
    return tuple(files)


def _security(settings: Settings, provider: k8s.Provider, peers: BackendPeers, *, local: bool) -> Security:
    return Security(
        "security",
        SecurityArgs(
            settings.models_namespace, peers, list(settings.platform.registry.client_namespaces), local
        ),
        opts=pulumi.ResourceOptions(provider=provider),
    )


def _registry(
    settings: Settings,
    provider: k8s.Provider,
    security: Security,
    *,
    placement: AwsPlacement | None,
    service_users: tuple[ServiceUser, ...],
) -> Registry:
    return Registry(
        "registry",
        RegistryArgs(
            settings.name,
            settings.platform.registry,
            placement,
            image=mlflow_server_image(settings.github_repository),
            models_namespace=settings.models_namespace,
            service_users=service_users,
        ),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[security]),
    )


def _services(
    settings: Settings,
    provider: k8s.Provider,
    security: Security,
    *,
    bootstrap_dir: Path,
    dispatch: DispatchTarget | None,
    sink: SinkOnAws | None,
    backend: BackendPeers,
    monitor: _MonitorPlan | None,
) -> tuple[Monitoring, Serving, GitOps]:
    after_security = pulumi.ResourceOptions(provider=provider, depends_on=[security])
    platform = settings.platform
    image = modelops_image(settings.github_repository)
    sink_args = PayloadSinkArgs(settings.models_namespace, image, backend, sink)
    job = None
    if monitor is not None:
        job = MonitorJob(
            environment=settings.environment.name,
            image=image,
            models=monitor.models,
            payloads_uri=store_uri(sink_args),  # where the sink writes
            mlflow_uri=f"http://{L.MLFLOW_APP}.{L.MLFLOW_NAMESPACE}.svc.cluster.local:{L.MLFLOW_PORT}",
            models_namespace=settings.models_namespace,
            network=monitor.network,
            store_env=monitor.store_env,
            store_secret=monitor.store_secret,
            policy_files=monitor.policy_files,
        )
    analysis = settings.environment.gitops.rollout.analysis
    rollout = None
    if job is not None and analysis is not None and analysis.cronjob:
        rollout = RolloutJob(
            environment=settings.environment.name,
            image=image,
            repo_url=settings.environment.gitops.repo_url,
            branch=settings.environment.gitops.target_revision,
            mlflow_uri=job.mlflow_uri,
        )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            models_namespace=settings.models_namespace,
            retention=platform.monitoring.retention,
            error_rate=platform.monitoring.slo.error_rate,
            p95_ms=settings.environment.promotion.latency.p95_ms,
            drift_threshold=settings.environment.promotion.drift.distance_threshold,
            paging=platform.alerting.page,
            dispatch=dispatch,
            monitor=job,
            rollout=rollout,
        ),
        opts=pulumi.ResourceOptions(
            provider=provider, depends_on=[security, *([monitor.identity] if monitor else [])]
        ),
    )
    runtime_image = serving_runtime_image(settings.github_repository)
    serving = Serving(
        "serving", ServingArgs(settings.models_namespace, runtime_image, image), opts=after_security
    )
    PayloadSink("payloads", sink_args, opts=after_security)
    gitops = GitOps(
        "gitops",
        GitOpsArgs(settings.environment.gitops.repo_url, bootstrap_dir, settings.environment.name),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[security, serving, monitoring]),
    )
    return monitoring, serving, gitops
