"""Wires the components of one stack together; the only place that knows their order.

Three kinds of stack: the shared registry (`registry`: MLflow, its database, the artifact bucket and
key, CI's registry roles), the environments on AWS (dev, staging, prod: their cluster, payload
bucket and model-reader role, reading the registry through a StackReference), and `local`
(everything in one cluster, MLflow and MinIO included).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from modelops.errors import InputError
from modelops_infra import layout as L
from modelops_infra.backends.aws_storage import payload_bucket_name, registry_bucket_name
from modelops_infra.backends.local_access import ENDPOINT_HOST, JOB_SECRET
from modelops_infra.boundary import bound_stack
from modelops_infra.components.artifact_access import ArtifactAccess, ArtifactAccessArgs, Grantee
from modelops_infra.components.ci_access import CiAccess, CiAccessArgs, MlflowLogin
from modelops_infra.components.cluster import Cluster, ClusterArgs, cluster_name
from modelops_infra.components.gitops import GitOps, GitOpsArgs
from modelops_infra.components.ingress import Ingress
from modelops_infra.components.monitor_identity import (
    MONITOR_USER,
    MonitorIdentity,
    MonitorIdentityArgs,
    MonitorOnAws,
)
from modelops_infra.components.monitoring import Monitoring, MonitoringArgs
from modelops_infra.components.network import Network, NetworkArgs
from modelops_infra.components.payload_sink import PayloadSink, PayloadSinkArgs, SinkOnAws, store_uri
from modelops_infra.components.registry import (
    OUTPUT_BUCKET_ARN,
    OUTPUT_BUCKET_NAME,
    OUTPUT_KEY_ARN,
    OUTPUT_MONITOR_PASSWORD,
    OUTPUT_URL,
    AwsPlacement,
    LocalPlacement,
    Registry,
    RegistryArgs,
    SharedRegistry,
    shared_registry,
    writer_namespaces,
)
from modelops_infra.components.registry_gateway import RegistryGateway, RegistryGatewayArgs
from modelops_infra.components.registry_users import CI_USERS, ServiceUser
from modelops_infra.components.runners import Runners, RunnersArgs
from modelops_infra.components.security import Security, SecurityArgs
from modelops_infra.components.serving import Serving, ServingArgs
from modelops_infra.gitops_models import ModelAccount, model_accounts
from modelops_infra.manifests.alert_routing import DispatchTarget
from modelops_infra.manifests.deploy_actions import REGISTRY_PARTS
from modelops_infra.manifests.iam import model_monitor_role_arn, model_reader_role_arn
from modelops_infra.manifests.model_monitor import (
    MonitorJob,
    MonitorNetwork,
    api_server_peers,
    local_api_server_peers,
)
from modelops_infra.manifests.network_policies import BackendPeers, aws_backend_peers, local_backend_peers
from modelops_infra.manifests.rollout_job import RolloutJob
from modelops_infra.manifests.runners import MLFLOW_SERVICE, PROMETHEUS_SERVICE, InClusterService
from modelops_infra.settings import (
    AwsPlatformSettings,
    LocalPlatformSettings,
    RegistrySettings,
    RegistryStack,
    RunnerSettings,
    Settings,
)
from modelops_infra.versions import mlflow_server_image, modelops_image, serving_runtime_image

# CI roles by stack: the gate and retrain roles (and their MLflow logins) where the registry is.
ENVIRONMENT_CI_ROLES = ("preview", "deploy")
REGISTRY_CI_ROLES = ("preview", "deploy", "gate", "retrain")


@dataclass(frozen=True)
class Platform:
    """An environment's stack (dev, staging, prod on AWS; local)."""

    security: Security
    registry: Registry | SharedRegistry  # local runs its own; on AWS the registry stack's outputs
    monitoring: Monitoring
    serving: Serving
    gitops: GitOps
    cluster: Cluster | None
    ci: CiAccess | None
    artifacts: ArtifactAccess | None  # the model-reader role (AWS only)
    monitor: MonitorIdentity | None  # the monitor job's identity; None where no model is served
    # Where the cluster's traffic leaves from (AWS): the registry's allow-list must name each.
    nat_public_ips: list[pulumi.Output[str]] | None = None

    def outputs(self) -> dict[str, Any]:
        found: dict[str, Any] = {"mlflow_url": self.registry.url}
        found["gateway"] = f"{self.serving.gateway_namespace}/{self.serving.gateway_name}"
        if isinstance(self.registry, SharedRegistry):
            found["registry_stack"] = self.registry.stack
        if self.cluster is not None:
            found["kubeconfig"] = self.cluster.kubeconfig
        if self.ci is not None:
            found["ci_role_arns"] = self.ci.role_arns  # preview, deploy
        if self.artifacts is not None:
            found["artifact_role_arns"] = self.artifacts.role_arns  # model-reader
        if self.nat_public_ips is not None:
            found["nat_public_ips"] = self.nat_public_ips
        return found


@dataclass(frozen=True)
class RegistryPlatform:
    """The shared registry's stack; its outputs are what environment stacks reference."""

    security: Security
    registry: Registry
    cluster: Cluster
    ci: CiAccess
    artifacts: ArtifactAccess  # the job-writer role
    gateway: RegistryGateway  # MLflow over TLS, behind the allow-list: what environments call

    def outputs(self) -> dict[str, Any]:
        key_arn = self.registry.kms_key_arn
        if key_arn is None:
            raise ValueError("the registry stack's bucket has no customer-managed key")
        return {
            OUTPUT_BUCKET_NAME: registry_bucket_name(),
            OUTPUT_BUCKET_ARN: self.registry.bucket_arn,
            OUTPUT_KEY_ARN: key_arn,
            # The Gateway's https:// URL: the one address people and the environment clusters reach.
            OUTPUT_URL: self.gateway.url,
            OUTPUT_MONITOR_PASSWORD: pulumi.Output.secret(
                self.registry.service_passwords[MONITOR_USER.username]
            ),
            "ci_role_arns": self.ci.role_arns,  # preview, deploy, gate, retrain
            "ci_mlflow_secret_arns": self.ci.secret_arns,  # gate, retrain
            "artifact_role_arns": self.artifacts.role_arns,  # job-writer
            "kubeconfig": self.cluster.kubeconfig,
        }


def build(
    settings: Settings | RegistryStack, *, bootstrap_dir: Path, models_dir: Path
) -> Platform | RegistryPlatform:
    """Declare every resource of the stack; call once inside a Pulumi program (or under mocks).

    `models_dir` is gitops/models: each model served in this environment gets its service account
    granted read access to the artifact bucket.
    """
    if isinstance(settings, RegistryStack):
        return _registry_stack(settings)
    models = model_accounts(models_dir, settings.name)  # read first: a bad file stops before anything
    check_client_namespaces(
        settings.platform.registry.client_namespaces,
        cluster_runs(settings),
        source=settings.source,
        field="platform.registry.client_namespaces",
    )
    match settings.platform:
        case AwsPlatformSettings() as platform:
            return _on_aws(settings, platform, models=models, bootstrap_dir=bootstrap_dir)
        case LocalPlatformSettings() as platform:
            return _on_kubernetes(settings, platform, models=models, bootstrap_dir=bootstrap_dir)


def cluster_runs(settings: Settings) -> L.ClusterRuns:
    """What an environment's cluster runs: on AWS, models that read the registry stack's MLflow; the
    local stack, models and an MLflow of its own on in-cluster Postgres and MinIO."""
    if settings.on_aws:
        return L.ClusterRuns.environment_on_aws(settings.models_namespace)
    return L.ClusterRuns.local(settings.models_namespace)


def check_client_namespaces(clients: list[str], runs: L.ClusterRuns, *, source: Path, field: str) -> None:
    """MLflow's clients (`client_namespaces`) must be namespaces the cluster creates, MLflow's own
    excepted (`L.mlflow_client_namespaces`); raises InputError naming the file and field."""
    allowed = L.mlflow_client_namespaces(runs)
    for client in clients:
        if client not in allowed:
            raise InputError(
                f"{source}: field '{field}': {client} is not a platform namespace MLflow's clients "
                f"run in (this cluster's: {', '.join(allowed)})"
            )


def _registry_stack(stack: RegistryStack) -> RegistryPlatform:
    """The shared registry: MLflow, RDS, the locked artifact bucket and its key, the job-writer role,
    CI's roles (gate and retrain with their MLflow logins), on a cluster of its own."""
    settings = stack.settings
    runs = L.ClusterRuns.registry()  # no model is served here: no models namespace, Prometheus or Argo CD
    check_client_namespaces(
        settings.registry.client_namespaces, runs, source=stack.source, field="registry.client_namespaces"
    )
    bound_stack(stack.name)  # first: every role declared after it carries the boundary
    network = Network("network", NetworkArgs(stack.name, settings.aws, settings.network))
    cluster = Cluster("cluster", ClusterArgs(stack.name, settings.cluster, network.private_subnet_ids, False))
    peers = aws_backend_peers(network.plan.endpoints, network.plan.data)
    security = Security(
        "security",
        SecurityArgs(runs, peers, list(settings.registry.client_namespaces)),
        opts=pulumi.ResourceOptions(provider=cluster.provider),
    )
    readers = tuple(model_reader_role_arn(r.account_id, r.environment) for r in settings.readers)
    # Each environment's monitor job reads its live versions' models and the runs' training data.
    monitors = tuple(model_monitor_role_arn(r.account_id, r.environment) for r in settings.readers)
    # Loading the file required it (settings.require_ingress_allow_list): the registry serves prod.
    ingress_settings = settings.registry_ingress
    assert ingress_settings is not None
    registry = Registry(
        "registry",
        RegistryArgs(
            stack.name,
            settings.registry,
            AwsPlacement(
                network.vpc_id,
                network.data_subnet_ids,
                cluster.cluster_security_group_id,
                cluster.oidc_provider,
                settings.aws.region,
            ),
            image=mlflow_server_image(stack.github_repository),
            # CI's logins, and the monitor's: every environment's monitor job reads with it.
            service_users=(*CI_USERS.values(), MONITOR_USER),
            account_id=settings.account_id,
            readers=readers,
            monitors=monitors,
            public_hostname=ingress_settings.hostname,
        ),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[security]),
    )
    ingress = Ingress(
        "ingress", opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[security])
    )
    gateway = RegistryGateway(
        "registry-gateway",
        RegistryGatewayArgs(ingress_settings, network.plan.public),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[security, ingress, registry]),
    )
    artifacts = ArtifactAccess(
        "artifacts",
        ArtifactAccessArgs(
            environment=stack.name,
            cluster_name=cluster_name(stack.name),
            cluster=cluster.name,
            bucket_arn=registry.bucket_arn,
            readers=None,  # no model is served here
            writers=_writers(settings.registry),
            kms_key_arn=registry.kms_key_arn,
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
            stack.github_repository,
            stack.name,  # deploys of this stack run in GitHub environment `registry`
            settings.ci.create_oidc_provider,
            bucket_arn=registry.bucket_arn,
            logins=logins,
            kms_key_arn=registry.kms_key_arn,
            kinds=REGISTRY_CI_ROLES,
            deploy_parts=REGISTRY_PARTS,
        ),
    )
    _runners(stack.name, stack.github_repository, settings.runners, cluster, security, MLFLOW_SERVICE)
    return RegistryPlatform(security, registry, cluster, ci, artifacts, gateway)


def _runners(
    stack: str,
    repository: str,
    runners: RunnerSettings,
    cluster: Cluster,
    security: Security,
    calls: InClusterService,
) -> Runners:
    """The stack's CI runners (in its VPC), admitted by the one in-cluster service their jobs call."""
    return Runners(
        "runners",
        RunnersArgs(stack, repository, runners.min_runners, runners.max_runners, in_cluster=(calls,)),
        opts=pulumi.ResourceOptions(provider=cluster.provider, depends_on=[security]),
    )


def _writers(registry: RegistrySettings) -> Grantee | None:
    writers = writer_namespaces(registry)
    return Grantee(writers[0], [registry.job_service_account]) if writers else None


def _on_aws(
    settings: Settings, platform: AwsPlatformSettings, *, models: list[ModelAccount], bootstrap_dir: Path
) -> Platform:
    bound_stack(settings.name)  # first: every role declared after it carries the boundary
    network = Network("network", NetworkArgs(settings.name, platform.aws, platform.network))
    cluster = Cluster(
        "cluster",
        ClusterArgs(
            settings.name, platform.cluster, network.private_subnet_ids, platform.serving.gpu_inference
        ),
    )
    peers = aws_backend_peers(network.plan.endpoints, network.plan.data)
    security = _security(settings, cluster.provider, peers)
    # No MLflow, database or artifact bucket here: the registry stack's, read across accounts.
    if platform.registry.project != pulumi.get_project():
        # Another project's `registry` stack would hand over another platform's bucket and MLflow.
        raise InputError(
            f"{settings.source}: field 'platform.registry.stack': {platform.registry.stack} is not "
            f"a stack of this project, {pulumi.get_project()}"
        )
    registry = shared_registry(platform.registry.stack)
    artifacts = ArtifactAccess(
        "artifacts",
        ArtifactAccessArgs(
            environment=settings.name,
            cluster_name=cluster_name(settings.name),
            cluster=cluster.name,
            bucket_arn=registry.bucket_arn,
            readers=Grantee(settings.models_namespace, [m.service_account for m in models]),
            writers=None,  # no environment principal writes registered artifacts
            kms_key_arn=registry.kms_key_arn,
            agent=cluster.pod_identity_agent,
        ),
    )
    ci = CiAccess(
        "ci",
        CiAccessArgs(
            settings.github_repository,
            settings.name,
            platform.ci.create_oidc_provider,
            bucket_arn=registry.bucket_arn,
            logins={},
            kinds=ENVIRONMENT_CI_ROLES,
        ),
    )
    _runners(
        settings.name, settings.github_repository, platform.runners, cluster, security, PROMETHEUS_SERVICE
    )
    sink = SinkOnAws(
        cluster_name(settings.name),
        cluster.name,
        settings.name,
        platform.aws.region,
        cluster.pod_identity_agent,
    )
    monitor = _monitor_identity(
        settings,
        cluster.provider,
        registry.monitor_password,
        models=models,
        on_aws=MonitorOnAws(
            settings.name,
            cluster_name(settings.name),
            cluster.name,
            registry.bucket_arn,
            f"arn:aws:s3:::{payload_bucket_name(settings.name)}",
            cluster.pod_identity_agent,
            kms_key_arn=registry.kms_key_arn,
        ),
        after=[],
    )
    monitoring, serving, gitops = _services(
        settings,
        cluster.provider,
        security,
        bootstrap_dir=bootstrap_dir,
        dispatch=DispatchTarget(settings.github_repository, settings.name, tuple(m.model for m in models)),
        sink=sink,
        backend=peers,
        # The registry stack's Gateway (https://, allow-listed by this cluster's NAT addresses); the
        # rollout round reaches it through its HTTPS egress, the monitor through its own (below).
        mlflow_uri=registry.url,
        monitor=_monitor_plan(
            settings,
            models,
            identity=monitor,
            # EKS puts the API server's endpoints in the cluster's (private) subnets.
            network=MonitorNetwork(
                api_server_peers(network.plan.private),
                (L.HTTPS_PORT,),
                peers,
                mlflow_in_cluster=cluster_runs(settings).mlflow,
            ),
            store_env=(("AWS_REGION", platform.aws.region),),
            store_secret=None,
        ),
    )
    return Platform(
        security,
        registry,
        monitoring,
        serving,
        gitops,
        cluster,
        ci,
        artifacts,
        monitor,
        network.nat_public_ips,
    )


def _on_kubernetes(
    settings: Settings, platform: LocalPlatformSettings, *, models: list[ModelAccount], bootstrap_dir: Path
) -> Platform:
    provider = k8s.Provider("local-k8s", context=platform.kube_context)
    backend = local_backend_peers()
    security = _security(settings, provider, backend)
    registry = _registry(settings, platform, provider, security, service_users=_monitor_users(models))
    monitor = _monitor_identity(
        settings,
        provider,
        registry.service_passwords.get(MONITOR_USER.username),
        models=models,
        on_aws=None,
        after=[registry],
    )
    monitoring, serving, gitops = _services(
        settings,
        provider,
        security,
        bootstrap_dir=bootstrap_dir,
        dispatch=None,  # a laptop's cluster must not open pull requests on the shared repository
        sink=None,
        backend=backend,
        mlflow_uri=registry.url,
        monitor=_monitor_plan(
            settings,
            models,
            identity=monitor,
            network=MonitorNetwork(
                *local_api_server_peers(), backend, mlflow_in_cluster=cluster_runs(settings).mlflow
            ),
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
    password: pulumi.Output[str] | None,
    *,
    models: list[ModelAccount],
    on_aws: MonitorOnAws | None,
    after: list[pulumi.Resource],
) -> MonitorIdentity | None:
    if not models or password is None:
        return None  # nothing to monitor, so no identity that could read anything
    return MonitorIdentity(
        "monitor",
        MonitorIdentityArgs(settings.models_namespace, password, on_aws),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=after),
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


def _security(settings: Settings, provider: k8s.Provider, peers: BackendPeers) -> Security:
    return Security(
        "security",
        SecurityArgs(cluster_runs(settings), peers, list(settings.platform.registry.client_namespaces)),
        opts=pulumi.ResourceOptions(provider=provider),
    )


def _registry(
    settings: Settings,
    platform: LocalPlatformSettings,
    provider: k8s.Provider,
    security: Security,
    *,
    service_users: tuple[ServiceUser, ...],
) -> Registry:
    """The local stack's own MLflow, with Postgres and MinIO in the cluster."""
    return Registry(
        "registry",
        RegistryArgs(
            settings.name,
            platform.registry,
            LocalPlacement(settings.models_namespace),
            image=mlflow_server_image(settings.github_repository),
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
    mlflow_uri: str | pulumi.Output[str],
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
            mlflow_uri=mlflow_uri,
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
            mlflow_in_cluster=job.network.mlflow_in_cluster,
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
