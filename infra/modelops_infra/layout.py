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


@dataclass(frozen=True)
class ClusterRuns:
    """What one cluster runs: the only input that decides which namespaces (and so which network
    policies) it gets. A namespace nothing runs in is not created, so no allow rule waits in it for
    whatever is deployed there next.

    Three kinds of cluster (platform.py): an environment's on AWS serves models and reads the registry
    stack's MLflow over HTTPS; the local stack serves models and runs its own MLflow on in-cluster
    Postgres and MinIO; the registry's runs MLflow (on RDS and S3) and serves no model.
    """

    # Where models are served (KServe, Argo CD's Applications, Prometheus's targets); None: no model
    # is served, so no models namespace and none of KServe, Argo CD or Prometheus/Grafana either.
    models_namespace: str | None
    mlflow: bool  # MLflow's server runs in this cluster (namespace mlflow)
    object_storage: bool  # Postgres and MinIO stand in for RDS and S3, in this cluster

    def __post_init__(self) -> None:
        if self.object_storage and not self.mlflow:
            raise ValueError("in-cluster Postgres and MinIO are MLflow's backends: they need MLflow here")

    @classmethod
    def environment_on_aws(cls, models_namespace: str) -> ClusterRuns:
        """An environment's cluster on AWS: models, their monitoring and Argo CD; MLflow is the registry's."""
        return cls(models_namespace, mlflow=False, object_storage=False)

    @classmethod
    def local(cls, models_namespace: str) -> ClusterRuns:
        """The local stack: everything, MLflow and its stand-in backends included."""
        return cls(models_namespace, mlflow=True, object_storage=True)

    @classmethod
    def registry(cls) -> ClusterRuns:
        """The shared registry's cluster: MLflow behind its Gateway, CI runners, jobs; no model."""
        return cls(None, mlflow=True, object_storage=False)

    @property
    def serves_models(self) -> bool:
        return self.models_namespace is not None


def owned_namespaces(runs: ClusterRuns) -> list[OwnedNamespace]:
    """Every namespace the platform creates in a cluster that runs `runs`; each gets a default-deny
    policy. (The CI runners' two namespaces are the Runners component's, manifests/runners.py.)"""
    owned: list[OwnedNamespace] = []
    if runs.models_namespace is not None:
        owned.append(OwnedNamespace(runs.models_namespace, "restricted", controller=False))
    if runs.mlflow:
        owned.append(OwnedNamespace(MLFLOW_NAMESPACE, "restricted", controller=False))
    # Every cluster runs jobs: the payload sink and the monitor beside models, writers of artifacts
    # beside the registry.
    owned.append(OwnedNamespace(JOBS_NAMESPACE, "restricted", controller=False))
    if runs.serves_models:
        owned += [
            # node-exporter needs the host network and host paths.
            OwnedNamespace(MONITORING_NAMESPACE, "privileged", controller=True),
            OwnedNamespace(ARGOCD_NAMESPACE, "baseline", controller=True),
            OwnedNamespace(KSERVE_NAMESPACE, "baseline", controller=True),
        ]
    # Every cluster has a Gateway: the models' or the registry's (components/ingress.py).
    owned += [
        OwnedNamespace(CERT_MANAGER_NAMESPACE, "restricted", controller=True),
        OwnedNamespace(GATEWAY_NAMESPACE, "baseline", controller=True),
    ]
    if runs.object_storage:
        owned.append(OwnedNamespace(STORAGE_NAMESPACE, "restricted", controller=False))
    return owned


def mlflow_client_namespaces(runs: ClusterRuns) -> list[str]:
    """The namespaces `registry.client_namespaces` may name: the cluster's own, but MLflow's. The server
    is no client of itself (its users Job is admitted by its label), and naming its namespace would
    open MLflow to every pod in it."""
    return [ns.name for ns in owned_namespaces(runs) if ns.name != MLFLOW_NAMESPACE]
