"""Network policy intent, answered by network-config-analyzer (nca) over the mocked objects."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from modelops_infra import layout as L
from modelops_infra.settings import load_settings
from tests.conftest import REPO_ROOT
from tests.infra.workload_pods import workload_pod
from tests.tools import require

try:
    from nca.nca_cli import nca_main
except ImportError:  # pragma: no cover - the infra dependency group is missing
    nca_main = None

MODELS = {"local": "models-local", "prod": "models-prod"}


def _workloads(models: str, local: bool) -> list[dict]:
    """One representative pod per role, labelled as the real workloads are."""
    pods = [
        workload_pod(
            models, "model", {"modelops.io/model": "credit-risk", "modelops.io/release": "stable"}, 8080
        ),
        workload_pod("mlflow", "mlflow", {"app": "mlflow"}, 5000),
        workload_pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, 53),
        workload_pod("monitoring", "prometheus", {"app.kubernetes.io/name": "prometheus"}, 9090),
        workload_pod("envoy-gateway-system", "envoy", {"app.kubernetes.io/component": "proxy"}, 10080),
        workload_pod("modelops-jobs", "drift-job", {"app": "drift"}, 8000),
        workload_pod("argocd", "argocd-server", {"app.kubernetes.io/name": "argocd-server"}, 8080),
        # One-shot Jobs: MLflow's service users, and locally the MinIO bucket and users.
        workload_pod("mlflow", "mlflow-users", {"app": "mlflow-users"}, 8000),
    ]
    if local:
        pods += [
            workload_pod("object-storage", "minio", {"app": "minio"}, 9000),
            workload_pod("object-storage", "postgres", {"app": "postgres"}, 5432),
            workload_pod("object-storage", "minio-setup", {"app": "minio-setup"}, 8000),
        ]
    return pods


def _connectivity(stack, folder: Path, models: str, local: bool) -> dict[tuple[str, str], str]:
    yaml = YAML(typ="safe")
    objects = stack.kubernetes_objects()
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    namespaces.append(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "kube-system", "labels": {"kubernetes.io/metadata.name": "kube-system"}},
        }
    )
    with (folder / "policies.yaml").open("w") as handle:
        yaml.dump_all(policies, handle)
    with (folder / "namespaces.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "NamespaceList", "items": namespaces}, handle)
    with (folder / "pods.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "PodList", "items": _workloads(models, local)}, handle)
    out = folder / "connectivity.txt"
    nca_main(
        [
            "--connectivity",
            str(folder / "policies.yaml"),
            "--pod_list",
            str(folder / "pods.yaml"),
            "--ns_list",
            str(folder / "namespaces.yaml"),
            "--output_format",
            "txt_no_fw_rules",
            "--file_out",
            str(out),
        ]
    )
    pairs = {}
    for line in out.read_text().splitlines():
        if match := re.match(r"^(\S+?)(?:\[Pod\])? => (\S+?)(?:\[Pod\])? : (.+)$", line.strip()):
            pairs[(match[1], match[2])] = match[3]
    return pairs


def _permits(connection: str | None, port: int) -> bool:
    if connection is None:
        return False
    if connection == "All connections":
        return True
    ports = re.search(r"dst_ports:([\d,\-]+)", connection)
    if "TCP" not in connection or ports is None:
        return False
    for part in ports[1].split(","):
        low, _, high = part.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


@pytest.fixture(scope="module", params=sorted(MODELS))
def reach(request, stacks, tmp_path_factory):
    require(nca_main is not None, "network-config-analyzer (nca)")
    name = request.param
    folder = tmp_path_factory.mktemp(f"nca-{name}")
    pairs = _connectivity(stacks[name], folder, MODELS[name], name == "local")
    models = MODELS[name]

    def may(src: str, dst: str, port: int) -> bool:
        return _permits(pairs.get((src.replace("MODELS", models), dst.replace("MODELS", models))), port)

    return name, may


def test_nca_gateway_and_prometheus_reach_model_pods_on_their_ports_only(reach):
    _, may = reach
    assert may("envoy-gateway-system/envoy", "MODELS/model", 8080)
    assert not may("envoy-gateway-system/envoy", "MODELS/model", 8082)
    assert may("monitoring/prometheus", "MODELS/model", 8082)
    assert not may("argocd/argocd-server", "MODELS/model", 8080)
    assert not may("modelops-jobs/drift-job", "MODELS/model", 8080)


def test_nca_model_pods_reach_dns_and_the_object_store_only(reach):
    name, may = reach
    assert may("MODELS/model", "kube-system/coredns", 53)
    assert not may("MODELS/model", "mlflow/mlflow", 5000)
    assert not may("MODELS/model", "monitoring/prometheus", 9090)
    assert not may("MODELS/model", "argocd/argocd-server", 8080)
    if name == "local":
        assert may("MODELS/model", "object-storage/minio", 9000)
        assert not may("MODELS/model", "object-storage/postgres", 5432)


def test_nca_on_aws_model_pods_leave_the_cluster_only_for_s3s_endpoint_and_their_credentials(
    stacks, tmp_path
):
    require(nca_main is not None, "network-config-analyzer (nca)")
    pairs = _connectivity(stacks["prod"], tmp_path, MODELS["prod"], False)
    egress = {dst: connection for (src, dst), connection in pairs.items() if src == "models-prod/model"}
    outside = {dst: c for dst, c in egress.items() if "/" not in dst}  # IP ranges, not pods
    agent = L.POD_IDENTITY_AGENT_CIDR.removesuffix("/32")
    vpc = ipaddress.ip_network(load_settings("prod", root=REPO_ROOT).platform.network.vpc_cidr)
    [endpoint] = [dst for dst in outside if dst != agent]
    low, high = (ipaddress.ip_address(ip) for ip in endpoint.split("-"))
    # S3's interface endpoint (addresses inside the VPC) on 443, the Pod Identity agent on 80: only.
    assert set(outside) == {endpoint, agent} and low in vpc and high in vpc, outside
    assert _permits(outside[endpoint], 443) and not _permits(outside[endpoint], 80)
    assert _permits(outside[agent], 80) and not _permits(outside[agent], 443)


def test_nca_mlflow_is_reachable_only_from_the_namespaces_that_need_it(reach):
    name, may = reach
    assert may("modelops-jobs/drift-job", "mlflow/mlflow", 5000)
    assert may("monitoring/prometheus", "mlflow/mlflow", 5000)
    for outsider in ("MODELS/model", "argocd/argocd-server", "envoy-gateway-system/envoy"):
        assert not may(outsider, "mlflow/mlflow", 5000), outsider
    if name == "local":
        assert may("mlflow/mlflow", "object-storage/postgres", 5432)
        assert not may("modelops-jobs/drift-job", "object-storage/postgres", 5432)


def test_nca_the_setup_jobs_reach_the_one_service_they_configure(reach):
    name, may = reach
    assert may("mlflow/mlflow-users", "mlflow/mlflow", 5000)
    assert not may("mlflow/mlflow-users", "argocd/argocd-server", 8080)
    assert not may("mlflow/mlflow-users", "MODELS/model", 8080)
    assert not may("argocd/argocd-server", "mlflow/mlflow-users", 8000)
    if name == "local":
        assert may("object-storage/minio-setup", "object-storage/minio", 9000)
        assert not may("object-storage/minio-setup", "object-storage/postgres", 5432)
        assert not may("object-storage/minio-setup", "mlflow/mlflow", 5000)
