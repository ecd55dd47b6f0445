"""MLflow tracking server and model registry, authenticated, behind a ClusterIP Service; and what an
environment stack reads of the shared one (`SharedRegistry`).

On AWS the Registry component runs in the registry stack alone; environment stacks hold a
`pulumi.StackReference` to it. The local stack runs its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from modelops_infra import layout as L
from modelops_infra.backends.aws_storage import aws_backend
from modelops_infra.backends.backend import SERVICE_ACCOUNT, Backend
from modelops_infra.backends.local_storage import local_backend
from modelops_infra.components.registry_users import ADMIN_USERNAME, ServiceUser, service_users_job
from modelops_infra.manifests.registry_gateway import public_allowed_hosts, public_allowed_origins
from modelops_infra.manifests.workloads import (
    IMAGE_DIGEST_SKIP,
    checkov_skips,
    container_security_context,
    pod_security_context,
    resources,
)
from modelops_infra.settings import RegistrySettings

_AUTH_DIR = "/etc/mlflow-auth"


@dataclass(frozen=True)
class AwsPlacement:
    vpc_id: pulumi.Input[str]
    data_subnet_ids: list[pulumi.Output[str]]
    cluster_security_group_id: pulumi.Input[str]
    oidc_provider: aws.iam.OpenIdConnectProvider
    region: str  # the bucket's: its key lets readers decrypt through this region's S3 only


@dataclass(frozen=True)
class LocalPlacement:
    """The local stack's in-cluster stand-ins, Postgres and MinIO, beside the models they serve."""

    models_namespace: str  # where MinIO's reader key goes, for KServe (backends/local_access.py)


@dataclass(frozen=True)
class RegistryArgs:
    environment: str
    settings: RegistrySettings
    placement: AwsPlacement | LocalPlacement
    image: str  # the MLflow server image (versions.mlflow_server_image)
    service_users: tuple[ServiceUser, ...] = ()  # basic-auth users the stack creates in MLflow
    # AWS only: the registry's own account (its KMS key's administrator) and the environments'
    # model-reader and monitor role ARNs its bucket and key policies grant.
    account_id: str | None = None
    readers: tuple[str, ...] = ()
    monitors: tuple[str, ...] = ()
    # The registry Gateway's hostname (components/registry_gateway.py), which MLflow must also
    # answer to; None where MLflow is reached in-cluster only.
    public_hostname: str | None = None


def in_cluster_hosts() -> list[str]:
    """MLflow's in-cluster names, with and without its port."""
    base = [L.MLFLOW_APP, f"{L.MLFLOW_APP}.{L.MLFLOW_NAMESPACE}"]
    base += [f"{base[1]}.svc", f"{base[1]}.svc.cluster.local"]
    return [*base, *(f"{host}:{L.MLFLOW_PORT}" for host in base)]


def allowed_hosts(public_hostname: str | None = None) -> list[str]:
    """Host headers MLflow answers to (DNS-rebinding protection): its in-cluster names, and the
    Gateway's hostname where the registry has one."""
    public = public_allowed_hosts(public_hostname) if public_hostname else []
    return [*in_cluster_hosts(), *public]


def server_args(artifact_root: str, *, public_hostname: str | None = None) -> list[str]:
    # A direct artifact root, not the server's artifact proxy: a registered version's location is
    # then the s3:// path itself, which is what a release pins and what KServe's storage
    # initializer reads. The proxy would hand out mlflow-artifacts:/ URIs that KServe cannot.
    args = [
        "server",
        "--host=0.0.0.0",
        f"--port={L.MLFLOW_PORT}",
        "--backend-store-uri=$(MLFLOW_BACKEND_STORE_URI)",
        f"--default-artifact-root={artifact_root}",
        "--no-serve-artifacts",
        "--app-name=basic-auth",
        f"--allowed-hosts={','.join(allowed_hosts(public_hostname))}",
    ]
    if public_hostname:
        # A browser sends Origin on the UI's own POSTs; MLflow refuses origins it was not given.
        args.append(f"--cors-allowed-origins={','.join(public_allowed_origins(public_hostname))}")
    return args


def writer_namespaces(settings: RegistrySettings) -> list[str]:
    """Client namespaces whose jobs log to MLflow, and so upload artifacts: modelops-jobs only."""
    return [ns for ns in settings.client_namespaces if ns == L.JOBS_NAMESPACE]


class Registry(pulumi.ComponentResource):
    url: str
    bucket_arn: pulumi.Output[str]  # the artifact bucket (locally MinIO's), as IAM policies name it
    kms_key_arn: pulumi.Output[str] | None  # the bucket's customer-managed key (AWS only)
    service_passwords: dict[str, pulumi.Output[str]]  # username -> password (secret)

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(f"{name}-db-password", length=32, special=False, opts=child)
        writers = writer_namespaces(args.settings)
        if isinstance(args.placement, AwsPlacement):
            if args.account_id is None:
                raise ValueError("a registry on AWS needs the account_id its KMS key belongs to")
            backend = aws_backend(
                self,
                name,
                environment=args.environment,
                settings=args.settings,
                vpc_id=args.placement.vpc_id,
                data_subnet_ids=args.placement.data_subnet_ids,
                cluster_security_group_id=args.placement.cluster_security_group_id,
                oidc_provider=args.placement.oidc_provider,
                password=password,
                account_id=args.account_id,
                readers=args.readers,
                monitors=args.monitors,
                region=args.placement.region,
            )
        else:
            backend = local_backend(
                self,
                name,
                password=password,
                models_namespace=args.placement.models_namespace,
                writer_namespaces=writers,
            )
        self.bucket_arn = pulumi.Output.from_input(backend.bucket_arn)
        self.kms_key_arn = (
            pulumi.Output.from_input(backend.kms_key_arn) if backend.kms_key_arn is not None else None
        )
        self.url = f"http://{L.MLFLOW_APP}.{L.MLFLOW_NAMESPACE}.svc.cluster.local:{L.MLFLOW_PORT}"
        admin, server = self._server(
            name, args.settings, backend, args.image, public_hostname=args.public_hostname
        )
        # The identity jobs run as to log to MLflow; AWS grants it the bucket through Pod Identity.
        for namespace in writers:
            k8s.core.v1.ServiceAccount(
                f"{name}-job-sa-{namespace}",
                metadata={"name": args.settings.job_service_account, "namespace": namespace},
                automount_service_account_token=False,
                opts=child,
            )
        self.service_passwords = {}
        for user in args.service_users:
            self.service_passwords[user.username] = random.RandomPassword(
                f"{name}-user-{user.username}", length=32, special=False, opts=child
            ).result
        if args.service_users:
            service_users_job(
                self,
                name,
                users=[(user, self.service_passwords[user.username]) for user in args.service_users],
                admin_password=admin,
                image=args.image,
                mlflow_url=self.url,
                after=server,
            )
        self.register_outputs({"url": self.url})

    def _server(
        self,
        name: str,
        settings: RegistrySettings,
        backend: Backend,
        image: str,
        *,
        public_hostname: str | None,
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        child = pulumi.ResourceOptions(parent=self)
        admin = random.RandomPassword(f"{name}-admin-password", length=32, special=False, opts=child)
        flask_key = random.RandomPassword(f"{name}-flask-key", length=48, special=False, opts=child)
        auth_ini = pulumi.Output.format(
            "[mlflow]\ndefault_permission = READ\ndatabase_uri = {0}\n"
            "admin_username = {1}\nadmin_password = {2}\n",
            backend.database_uri,
            ADMIN_USERNAME,
            admin.result,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-server",
            metadata={"name": "mlflow-server", "namespace": L.MLFLOW_NAMESPACE},
            string_data={
                "backend-store-uri": backend.database_uri,
                "flask-secret-key": flask_key.result,
                "basic_auth.ini": auth_ini,
            },
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={
                "name": SERVICE_ACCOUNT,
                "namespace": L.MLFLOW_NAMESPACE,
                "annotations": backend.service_account_annotations,
            },
            automount_service_account_token=False,
            opts=child,
        )
        labels = {"app": L.MLFLOW_APP}
        # The probe names an allowed host: kubelet would otherwise send the pod IP as Host.
        probe = {
            "httpGet": {
                "path": "/health",
                "port": L.MLFLOW_PORT,
                "httpHeaders": [{"name": "Host", "value": in_cluster_hosts()[-1]}],
            },
            "periodSeconds": 10,
        }
        env: list[dict[str, Any]] = [
            _from_secret("MLFLOW_BACKEND_STORE_URI", "backend-store-uri"),
            _from_secret("MLFLOW_FLASK_SERVER_SECRET_KEY", "flask-secret-key"),
            {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": f"{_AUTH_DIR}/basic_auth.ini"},
            {"name": "HOME", "value": "/tmp"},
            *backend.env,
        ]
        skips = {
            **IMAGE_DIGEST_SKIP,
            "CKV_K8S_35": "mlflow server takes its store URI and Flask key from the environment only",
        }
        deployment = k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata={
                "name": L.MLFLOW_APP,
                "namespace": L.MLFLOW_NAMESPACE,
                "labels": labels,
                "annotations": checkov_skips(**skips),
            },
            spec={
                "replicas": settings.mlflow_replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": SERVICE_ACCOUNT,
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(),
                        "containers": [
                            {
                                "name": "mlflow",
                                "image": image,
                                "imagePullPolicy": "Always",
                                "command": ["mlflow"],
                                "args": server_args_output(
                                    backend.artifacts_destination, public_hostname=public_hostname
                                ),
                                "env": env,
                                "ports": [{"name": "http", "containerPort": L.MLFLOW_PORT}],
                                "securityContext": container_security_context(),
                                "resources": resources("500m", "1Gi"),
                                "readinessProbe": probe,
                                "livenessProbe": {**probe, "initialDelaySeconds": 30},
                                "volumeMounts": [
                                    {"name": "auth", "mountPath": _AUTH_DIR, "readOnly": True},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {
                                "name": "auth",
                                "secret": {
                                    "secretName": "mlflow-server",
                                    "items": [{"key": "basic_auth.ini", "path": "basic_auth.ini"}],
                                },
                            },
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret, account]),
        )
        service = k8s.core.v1.Service(
            f"{name}-server",
            metadata={"name": L.MLFLOW_APP, "namespace": L.MLFLOW_NAMESPACE, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": labels,
                "ports": [{"name": "http", "port": L.MLFLOW_PORT, "targetPort": L.MLFLOW_PORT}],
            },
            opts=child,
        )
        return admin.result, [deployment, service]


def server_args_output(
    destination: pulumi.Input[str], *, public_hostname: str | None = None
) -> pulumi.Output[list[str]]:
    return pulumi.Output.from_input(destination).apply(
        lambda root: server_args(root, public_hostname=public_hostname)
    )


def _from_secret(variable: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": "mlflow-server", "key": key}}}


# The registry stack's outputs an environment stack reads (infra/__main__.py exports them).
OUTPUT_BUCKET_NAME = "artifact_bucket_name"
OUTPUT_BUCKET_ARN = "artifact_bucket_arn"
OUTPUT_KEY_ARN = "artifact_key_arn"
OUTPUT_URL = "mlflow_url"
OUTPUT_MONITOR_PASSWORD = "mlflow_monitor_password"  # secret: the monitor's read-only MLflow login


@dataclass(frozen=True)
class SharedRegistry:
    """The shared registry as an environment stack sees it: outputs of the registry stack."""

    stack: str  # <org>/<project>/registry
    url: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    monitor_password: pulumi.Output[str]  # secret


def shared_registry(stack: str) -> SharedRegistry:
    """Reads the registry stack `stack`; a missing output fails the preview (`require_output`)."""
    reference = pulumi.StackReference("registry", stack_name=stack)

    def output(key: str) -> pulumi.Output[str]:
        return reference.require_output(key).apply(str)

    return SharedRegistry(
        stack=stack,
        url=output(OUTPUT_URL),
        bucket_arn=output(OUTPUT_BUCKET_ARN),
        kms_key_arn=output(OUTPUT_KEY_ARN),
        monitor_password=pulumi.Output.secret(output(OUTPUT_MONITOR_PASSWORD)),
    )
