"""Names and ports the components share: one place, so network policies match the workloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PodSecurity = Literal["restricted", "baseline", "privileged"]

MLFLOW_NAMESPACE = "mlflow"
MONITORING_NAMESPACE = "monitoring"
ARGOCD_NAMESPACE = "argocd"
KSERVE_NAMESPACE = "kserve"
CERT_MANAGER_NAMESPACE = "cert-manager"
GATEWAY_NAMESPACE = "envoy-gateway-system"
# Batch work that talks to the registry (gate runs, drift scoring) runs here, not beside models.
JOBS_NAMESPACE = "modelops-jobs"
# Local stack only: Postgres and MinIO standing in for RDS and S3.
STORAGE_NAMESPACE = "object-storage"

MLFLOW_PORT = 5000
MODEL_HTTP_PORT = 8080  # KServe's predictor port (protocol v2 over HTTP)
MODEL_METRICS_PORT = 8082  # MLServer's Prometheus endpoint
POSTGRES_PORT = 5432
MINIO_PORT = 9000
HTTPS_PORT = 443
DNS_PORT = 53
# Envoy Gateway maps a Gateway listener on port 80 to this unprivileged container port.
GATEWAY_PROXY_PORT = 10080
# Admission webhooks the API server calls; it is outside the pod network, so these are
# opened to any source, on these ports only.
WEBHOOK_PORTS = (9443, 10250)

MLFLOW_APP = "mlflow"
POSTGRES_APP = "postgres"
MINIO_APP = "minio"
# One-shot Jobs: the MLflow service users (namespace mlflow), the local MinIO bucket and users.
MLFLOW_USERS_APP = "mlflow-users"
MINIO_SETUP_APP = "minio-setup"
# EKS Pod Identity's agent: a host-network DaemonSet pods fetch their role's credentials from.
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
POD_IDENTITY_AGENT_PORT = 80
GATEWAY_NAME = "models"
GATEWAY_CLASS = "envoy"  # Envoy Gateway's, installed by components/ingress.py
ARTIFACT_BUCKET_LOCAL = "modelops-local-mlflow-artifacts"  # what gitops/ overlays for local pin

# Pod labels the gitops InferenceServices carry; the PodMonitor turns them into the
# `model` and `release` labels every dashboard and alert groups by.
MODEL_LABEL = "modelops.io/model"
RELEASE_LABEL = "modelops.io/release"
SERVING_NAMESPACE_LABEL = "modelops.io/serving"


@dataclass(frozen=True)
class OwnedNamespace:
    name: str
    pod_security: PodSecurity
    # Controllers need the API server, registries and (Argo CD) GitHub; model pods do not.
    controller: bool


def owned_namespaces(models_namespace: str, *, local: bool) -> list[OwnedNamespace]:
    """Every namespace the platform creates; each gets a default-deny policy."""
    owned = [
        OwnedNamespace(models_namespace, "restricted", controller=False),
        OwnedNamespace(MLFLOW_NAMESPACE, "restricted", controller=False),
        OwnedNamespace(JOBS_NAMESPACE, "restricted", controller=False),
        # node-exporter needs the host network and host paths.
        OwnedNamespace(MONITORING_NAMESPACE, "privileged", controller=True),
        OwnedNamespace(ARGOCD_NAMESPACE, "baseline", controller=True),
        OwnedNamespace(KSERVE_NAMESPACE, "baseline", controller=True),
        OwnedNamespace(CERT_MANAGER_NAMESPACE, "restricted", controller=True),
        OwnedNamespace(GATEWAY_NAMESPACE, "baseline", controller=True),
    ]
    if local:
        owned.append(OwnedNamespace(STORAGE_NAMESPACE, "restricted", controller=False))
    return owned
