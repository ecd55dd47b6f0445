"""Pinned chart and image versions: exact, so a preview shows every upgrade as a diff."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Chart:
    chart: str
    version: str
    repo: str | None = None  # None for oci:// charts, whose address is the chart itself


KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack", "76.5.1", "https://prometheus-community.github.io/helm-charts"
)
CERT_MANAGER = Chart("cert-manager", "v1.18.2", "https://charts.jetstack.io")
ENVOY_GATEWAY = Chart("oci://docker.io/envoyproxy/gateway-helm", "v1.7.4")
KSERVE_CRD = Chart("oci://ghcr.io/kserve/charts/kserve-crd", "v0.16.0")
KSERVE = Chart("oci://ghcr.io/kserve/charts/kserve", "v0.16.0")
ARGO_CD = Chart("argo-cd", "9.5.4", "https://argoproj.github.io/argo-helm")

# The EKS-managed Amazon VPC CNI add-on: AWS's latest build for Kubernetes 1.33 (the clusters'
# version) in the EKS user guide's version table. Network policy enforcement needs v1.14 or later.
VPC_CNI_ADDON_VERSION = "v1.20.1-eksbuild.3"

# MLflow before 3.10 has published arbitrary-file-read vulnerabilities; the server matches
# the client version locked in uv.lock.
MLFLOW_VERSION = "3.17.2"
MLFLOW_MIN_VERSION = (3, 10)


def mlflow_server_image(repository: str) -> str:
    """The server image CI builds from infra/images/mlflow-server/ into this repository's GHCR.

    Not upstream's ghcr.io/mlflow/mlflow: that image is core MLflow only, without the Postgres
    driver, boto3 or Flask-WTF that `--app-name basic-auth` on Postgres + S3 needs (its `-full`
    variant still lacks Flask-WTF). Installing them at container start is not reproducible.
    """
    return f"ghcr.io/{repository.lower()}/mlflow-server:v{MLFLOW_VERSION}"


SERVING_RUNTIME_LOCK = Path(__file__).resolve().parents[1] / "images" / "mlserver" / "uv.lock"


def serving_runtime_image(repository: str, *, lock: Path = SERVING_RUNTIME_LOCK) -> str:
    """The model server image CI builds from infra/images/mlserver into this repository's GHCR.

    Tagged with MLServer's version and the lock's content hash: a change to any pinned package is a
    new tag, so a node never runs an image other than the one the lock describes. images.yml
    computes the same tag (`sha256sum uv.lock`).
    """
    content = lock.read_bytes()
    packages = tomllib.loads(content.decode("utf-8"))["package"]
    mlserver = next(p["version"] for p in packages if p["name"] == "mlserver")
    digest = hashlib.sha256(content).hexdigest()[:12]
    return f"ghcr.io/{repository.lower()}/mlserver-runtime:{mlserver}-{digest}"


POSTGRES_IMAGE = "docker.io/library/postgres:17.5-alpine"
# Local stack only. MinIO's community edition is source-only since October 2025 (no image for
# the CVE-2025-62506 fix); quay.io still serves the last published tags. A laptop stand-in only.
MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"
MINIO_CLIENT_IMAGE = "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z"
POSTGRES_ENGINE_VERSION = "17.5"
# The Pushgateway the monitor job pushes to (kube-prometheus-stack ships none).
PUSHGATEWAY_IMAGE = "quay.io/prometheus/pushgateway:v1.11.0"

# The modelops package's own image (infra/images/modelops/), tagged with the project's version in
# pyproject.toml. The images workflow pushes a tag once and never over it: a change reaches the
# cluster when project.version is raised, and a tag always names the same image.
MODELOPS_VERSION = "0.1.0"


def modelops_image(repository: str) -> str:
    """The payload sink's image, as CI publishes it into this repository's GHCR."""
    return f"ghcr.io/{repository.lower()}/modelops:v{MODELOPS_VERSION}"


# GitHub's actions-runner-controller in runner scale set mode (components/runners.py): the controller
# and the scale set are released together and must carry the same version.
ARC_CONTROLLER = Chart(
    "oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set-controller", "0.14.2"
)
ARC_RUNNER_SCALE_SET = Chart(
    "oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set", "0.14.2"
)
# The runner each job's pod runs: actions/runner's release, never `latest` (the chart's default).
RUNNER_VERSION = "2.335.1"
# GitHub's image, which infra/images/ci-runner builds on (the images workflow passes RUNNER_VERSION).
RUNNER_BASE_IMAGE = f"ghcr.io/actions/actions-runner:{RUNNER_VERSION}"
CI_RUNNER_DOCKERFILE = Path(__file__).resolve().parents[1] / "images" / "ci-runner" / "Dockerfile"


def ci_runner_image(repository: str, *, dockerfile: Path = CI_RUNNER_DOCKERFILE) -> str:
    """The runner image CI builds from infra/images/ci-runner into this repository's GHCR.

    The base image lacks what the self-hosted jobs call (make, uv, Python, kubectl, gh, aws). Tagged
    with the runner's version and the Dockerfile's content hash: a change to any pinned tool is a
    new tag. images.yml computes the tag with this function.
    """
    digest = hashlib.sha256(dockerfile.read_bytes()).hexdigest()[:12]
    return f"ghcr.io/{repository.lower()}/ci-runner:{RUNNER_VERSION}-{digest}"
