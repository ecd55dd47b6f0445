"""Local stack only: in-cluster Postgres and MinIO standing in for RDS and S3.

Same MLflow otherwise; these are single replicas on the cluster's default storage class.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from modelops_infra import layout as L
from modelops_infra.backends.backend import DB_NAME, DB_USER, Backend, database_uri
from modelops_infra.backends.local_access import BUCKET_ARN, local_artifact_access
from modelops_infra.manifests.workloads import (
    IMAGE_DIGEST_SKIP,
    checkov_skips,
    container_security_context,
    pod_security_context,
    resources,
)
from modelops_infra.versions import MINIO_IMAGE, POSTGRES_IMAGE

_SECRETS_ENV_SKIP = {
    "CKV_K8S_35": "postgres and minio images read their credentials from environment variables only"
}


def _stateful_set(
    parent: pulumi.Resource,
    name: str,
    *,
    app: str,
    image: str,
    port: int,
    args: list[str],
    env: list[dict[str, Any]],
    data_path: str,
    probe: dict[str, Any],
    scratch: list[str],
) -> list[pulumi.Resource]:
    child = pulumi.ResourceOptions(parent=parent)
    labels = {"app": app}
    mounts = [{"name": "data", "mountPath": data_path}]
    mounts += [{"name": f"scratch-{i}", "mountPath": path} for i, path in enumerate(scratch)]
    stateful_set = k8s.apps.v1.StatefulSet(
        name,
        metadata={
            "name": app,
            "namespace": L.STORAGE_NAMESPACE,
            "labels": labels,
            "annotations": checkov_skips(**IMAGE_DIGEST_SKIP, **_SECRETS_ENV_SKIP),
        },
        spec={
            "serviceName": app,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    "containers": [
                        {
                            "name": app,
                            "image": image,
                            "imagePullPolicy": "Always",
                            "args": args,
                            "env": env,
                            "ports": [{"name": app, "containerPort": port}],
                            "securityContext": container_security_context(),
                            "resources": resources("250m", "512Mi"),
                            "readinessProbe": probe,
                            "livenessProbe": {**probe, "initialDelaySeconds": 30},
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": [{"name": f"scratch-{i}", "emptyDir": {}} for i in range(len(scratch))],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "10Gi"}},
                    },
                }
            ],
        },
        opts=child,
    )
    service = k8s.core.v1.Service(
        name,
        metadata={"name": app, "namespace": L.STORAGE_NAMESPACE, "labels": labels},
        spec={
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": app, "port": port, "targetPort": port}],
        },
        opts=child,
    )
    return [stateful_set, service]


def _secret_env(secret: str, name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def local_backend(
    parent: pulumi.Resource,
    name: str,
    *,
    password: random.RandomPassword,
    models_namespace: str,
    writer_namespaces: list[str],
) -> Backend:
    child = pulumi.ResourceOptions(parent=parent)
    minio_key = random.RandomPassword(f"{name}-minio", length=32, special=False, opts=child)
    credentials = "storage-credentials"
    secret_data = {
        "postgres-password": password.result,
        "minio-user": "mlflow",
        "minio-password": minio_key.result,
    }
    for namespace in (L.STORAGE_NAMESPACE, L.MLFLOW_NAMESPACE):
        k8s.core.v1.Secret(
            f"{name}-credentials-{namespace}",
            metadata={"name": credentials, "namespace": namespace},
            string_data=secret_data,
            opts=child,
        )

    _stateful_set(
        parent,
        f"{name}-postgres",
        app=L.POSTGRES_APP,
        image=POSTGRES_IMAGE,
        port=L.POSTGRES_PORT,
        args=[],
        env=[
            {"name": "POSTGRES_USER", "value": DB_USER},
            {"name": "POSTGRES_DB", "value": DB_NAME},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
            _secret_env(credentials, "POSTGRES_PASSWORD", "postgres-password"),
        ],
        data_path="/var/lib/postgresql/data",
        probe={"exec": {"command": ["pg_isready", "-U", DB_USER, "-d", DB_NAME]}, "periodSeconds": 10},
        scratch=["/var/run/postgresql", "/tmp"],
    )
    minio = _stateful_set(
        parent,
        f"{name}-minio",
        app=L.MINIO_APP,
        image=MINIO_IMAGE,
        port=L.MINIO_PORT,
        args=["server", "/data", "--address", f":{L.MINIO_PORT}"],
        env=[
            _secret_env(credentials, "MINIO_ROOT_USER", "minio-user"),
            _secret_env(credentials, "MINIO_ROOT_PASSWORD", "minio-password"),
        ],
        data_path="/data",
        probe={"httpGet": {"path": "/minio/health/ready", "port": L.MINIO_PORT}, "periodSeconds": 10},
        scratch=["/tmp"],
    )
    local_artifact_access(
        parent,
        name,
        root_secret=credentials,
        models_namespace=models_namespace,
        writer_namespaces=writer_namespaces,
        after=minio,
    )
    host = f"{L.POSTGRES_APP}.{L.STORAGE_NAMESPACE}.svc.cluster.local"
    endpoint = f"http://{L.MINIO_APP}.{L.STORAGE_NAMESPACE}.svc.cluster.local:{L.MINIO_PORT}"
    return Backend(
        database_uri=database_uri(password.result, host),
        artifacts_destination=f"s3://{L.ARTIFACT_BUCKET_LOCAL}",
        bucket_arn=BUCKET_ARN,
        env=[
            {"name": "MLFLOW_S3_ENDPOINT_URL", "value": endpoint},
            _secret_env(credentials, "AWS_ACCESS_KEY_ID", "minio-user"),
            _secret_env(credentials, "AWS_SECRET_ACCESS_KEY", "minio-password"),
        ],
    )
