"""Pinned versions hold together: the MLflow server image has what the server needs, in step."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from modelops_infra import versions

IMAGE_DIR = Path(__file__).resolve().parents[2] / "infra" / "images" / "mlflow-server"


def _locked(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9_.-]+)==([^ \\\n]+)", path.read_text(), flags=re.MULTILINE))


def test_the_server_image_is_built_here_not_upstreams_core_image():
    image = versions.mlflow_server_image("Example-Org/ModelOps-Platform")
    assert image == f"ghcr.io/example-org/modelops-platform/mlflow-server:v{versions.MLFLOW_VERSION}"
    assert not image.startswith("ghcr.io/mlflow/mlflow")


def test_the_image_lock_has_basic_auth_postgres_and_s3_at_the_pinned_mlflow():
    locked = _locked(IMAGE_DIR / "requirements.txt")
    assert locked["mlflow"] == versions.MLFLOW_VERSION
    assert {"flask-wtf", "psycopg2-binary", "boto3"} <= set(locked)
    assert "--hash=sha256:" in (IMAGE_DIR / "requirements.txt").read_text()
    dockerfile = (IMAGE_DIR / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "--no-deps" in dockerfile


def test_the_server_matches_the_client_locked_for_the_repository(repo_root):
    lock = tomllib.loads((repo_root / "uv.lock").read_text())
    (client,) = [p["version"] for p in lock["package"] if p["name"] == "mlflow"]
    assert client == versions.MLFLOW_VERSION
    assert tuple(int(part) for part in client.split(".")[:2]) >= versions.MLFLOW_MIN_VERSION


def test_charts_are_pinned_to_exact_versions_at_their_published_locations():
    charts = {
        "kube-prometheus-stack": ("76.5.1", "https://prometheus-community.github.io/helm-charts"),
        "cert-manager": ("v1.18.2", "https://charts.jetstack.io"),
        "oci://docker.io/envoyproxy/gateway-helm": ("v1.7.4", None),
        "oci://ghcr.io/kserve/charts/kserve-crd": ("v0.16.0", None),
        "oci://ghcr.io/kserve/charts/kserve": ("v0.16.0", None),
        "argo-cd": ("9.5.4", "https://argoproj.github.io/argo-helm"),
    }
    pinned = [
        versions.KUBE_PROMETHEUS_STACK,
        versions.CERT_MANAGER,
        versions.ENVOY_GATEWAY,
        versions.KSERVE_CRD,
        versions.KSERVE,
        versions.ARGO_CD,
    ]
    assert {c.chart: (c.version, c.repo) for c in pinned} == charts


def test_the_runner_charts_and_image_are_pinned_at_githubs_published_locations():
    registry = "oci://ghcr.io/actions/actions-runner-controller-charts"
    assert (versions.ARC_CONTROLLER.chart, versions.ARC_CONTROLLER.repo) == (
        f"{registry}/gha-runner-scale-set-controller",
        None,
    )
    assert (versions.ARC_RUNNER_SCALE_SET.chart, versions.ARC_RUNNER_SCALE_SET.repo) == (
        f"{registry}/gha-runner-scale-set",
        None,
    )
    # Released together: the controller serves the scale set chart's CRDs of the same version.
    assert versions.ARC_CONTROLLER.version == versions.ARC_RUNNER_SCALE_SET.version == "0.14.2"
    assert f"ghcr.io/actions/actions-runner:{versions.RUNNER_VERSION}" == versions.RUNNER_BASE_IMAGE
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions.RUNNER_VERSION)


def test_the_runner_image_is_built_here_and_its_tag_follows_its_dockerfile(tmp_path):
    image = versions.ci_runner_image("Example-Org/ModelOps-Platform")
    assert re.fullmatch(
        rf"ghcr\.io/example-org/modelops-platform/ci-runner:{re.escape(versions.RUNNER_VERSION)}-[0-9a-f]{{12}}",
        image,
    )
    # Any change to the Dockerfile (a tool's pin) is a new tag; the same file, the same tag.
    copy = tmp_path / "Dockerfile"
    copy.write_bytes(versions.CI_RUNNER_DOCKERFILE.read_bytes())
    assert versions.ci_runner_image("Example-Org/ModelOps-Platform", dockerfile=copy) == image
    copy.write_text(copy.read_text().replace("GH_VERSION=", "GH_VERSION=9"))
    assert versions.ci_runner_image("Example-Org/ModelOps-Platform", dockerfile=copy) != image
