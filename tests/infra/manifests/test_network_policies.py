"""Network policy intent, answered by network-config-analyzer (nca) over the mocked objects."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from modelops_infra import layout as L
from modelops_infra.manifests.registry_gateway import GATEWAY_HTTPS_PROXY_PORT, proxy_pod_labels
from modelops_infra.settings import load_settings
from tests.conftest import REPO_ROOT
from tests.infra.workload_pods import workload_pod
from tests.tools import require

try:
    from nca.nca_cli import nca_main
except ImportError:  # pragma: no cover - the infra dependency group is missing
    nca_main = None

MODELS = {"local": "models-local", "prod": "models-prod"}
# Where MLflow runs: the local stack's cluster and the registry's (an environment's on AWS has none).
MLFLOW_RUNS = ("local", "registry")


def _workloads(models: str | None, *, mlflow: bool, local: bool) -> list[dict]:
    """One representative pod per role, labelled as the real workloads are, in the namespaces the
    cluster has: models (and Prometheus, Argo CD) where models are served, MLflow where it runs."""
    pods = [
        workload_pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, 53),
        workload_pod("modelops-jobs", "drift-job", {"app": "drift"}, 8000),
        workload_pod("cert-manager", "cert-manager", {"app.kubernetes.io/name": "cert-manager"}, 9402),
    ]
    if models is not None:
        pods += [
            workload_pod(
                models, "model", {"modelops.io/model": "credit-risk", "modelops.io/release": "stable"}, 8080
            ),
            workload_pod("monitoring", "prometheus", {"app.kubernetes.io/name": "prometheus"}, 9090),
            workload_pod("envoy-gateway-system", "envoy", {"app.kubernetes.io/component": "proxy"}, 10080),
            workload_pod("argocd", "argocd-server", {"app.kubernetes.io/name": "argocd-server"}, 8080),
        ]
    else:  # the registry's own Gateway, and its CI runners
        pods += [
            workload_pod(
                "envoy-gateway-system", "registry-envoy", proxy_pod_labels(), GATEWAY_HTTPS_PROXY_PORT
            ),
            workload_pod("arc-runners", "runner", {"app.kubernetes.io/component": "runner"}, 8000),
        ]
    if mlflow:
        pods += [
            workload_pod("mlflow", "mlflow", {"app": "mlflow"}, 5000),
            # One-shot Job: MLflow's service users.
            workload_pod("mlflow", "mlflow-users", {"app": "mlflow-users"}, 8000),
        ]
    if local:
        pods += [
            workload_pod("object-storage", "minio", {"app": "minio"}, 9000),
            workload_pod("object-storage", "postgres", {"app": "postgres"}, 5432),
            workload_pod("object-storage", "minio-setup", {"app": "minio-setup"}, 8000),
        ]
    return pods


def _connectivity(stack, folder: Path, pods: list[dict]) -> dict[tuple[str, str], str]:
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
        yaml.dump({"apiVersion": "v1", "kind": "PodList", "items": pods}, handle)
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


_PAIRS: dict[str, dict[tuple[str, str], str]] = {}


def _analysed(name: str, every_stack, tmp_path_factory) -> dict[tuple[str, str], str]:
    """nca's answer for stack `name`, computed once for the module's fixtures."""
    require(nca_main is not None, "network-config-analyzer (nca)")
    if name not in _PAIRS:
        folder = tmp_path_factory.mktemp(f"nca-{name}")
        pods = _workloads(MODELS.get(name), mlflow=name in MLFLOW_RUNS, local=name == "local")
        _PAIRS[name] = _connectivity(every_stack[name], folder, pods)
    return _PAIRS[name]


def _may(pairs: dict[tuple[str, str], str], models: str | None):
    """Whether `src` may open `dst` on `port`; "MODELS" stands for the models namespace."""

    def named(pod: str) -> str:
        return pod.replace("MODELS", models) if models else pod

    def may(src: str, dst: str, port: int) -> bool:
        return _permits(pairs.get((named(src), named(dst))), port)

    return may


@pytest.fixture(scope="module", params=sorted(MODELS))
def reach(request, every_stack, tmp_path_factory):
    """The clusters that serve models."""
    name = request.param
    return name, _may(_analysed(name, every_stack, tmp_path_factory), MODELS[name])


@pytest.fixture(scope="module", params=MLFLOW_RUNS)
def mlflow_reach(request, every_stack, tmp_path_factory):
    """The clusters MLflow runs in."""
    name = request.param
    return name, _may(_analysed(name, every_stack, tmp_path_factory), MODELS.get(name))


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
    assert not may("MODELS/model", "monitoring/prometheus", 9090)
    assert not may("MODELS/model", "argocd/argocd-server", 8080)
    if name == "local":
        assert not may("MODELS/model", "mlflow/mlflow", 5000)
        assert may("MODELS/model", "object-storage/minio", 9000)
        assert not may("MODELS/model", "object-storage/postgres", 5432)


def test_nca_on_aws_model_pods_leave_the_cluster_only_for_s3s_endpoint_and_their_credentials(
    stacks, tmp_path
):
    require(nca_main is not None, "network-config-analyzer (nca)")
    pairs = _connectivity(stacks["prod"], tmp_path, _workloads(MODELS["prod"], mlflow=False, local=False))
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


def test_nca_mlflow_is_reachable_only_from_the_namespaces_that_need_it(mlflow_reach):
    name, may = mlflow_reach
    assert may("modelops-jobs/drift-job", "mlflow/mlflow", 5000)
    assert not may("cert-manager/cert-manager", "mlflow/mlflow", 5000)
    if name == "local":
        assert may("monitoring/prometheus", "mlflow/mlflow", 5000)
        for outsider in ("MODELS/model", "argocd/argocd-server", "envoy-gateway-system/envoy"):
            assert not may(outsider, "mlflow/mlflow", 5000), outsider
        assert may("mlflow/mlflow", "object-storage/postgres", 5432)
        assert not may("modelops-jobs/drift-job", "object-storage/postgres", 5432)
    else:  # the registry: its Gateway's proxies and its CI runners too, nothing else
        assert may("envoy-gateway-system/registry-envoy", "mlflow/mlflow", 5000)
        assert may("arc-runners/runner", "mlflow/mlflow", 5000)


def test_nca_the_setup_jobs_reach_the_one_service_they_configure(mlflow_reach):
    name, may = mlflow_reach
    assert may("mlflow/mlflow-users", "mlflow/mlflow", 5000)
    assert not may("mlflow/mlflow-users", "modelops-jobs/drift-job", 8000)
    assert not may("mlflow/mlflow-users", "cert-manager/cert-manager", 9402)
    assert not may("cert-manager/cert-manager", "mlflow/mlflow-users", 8000)
    if name == "local":
        assert not may("mlflow/mlflow-users", "argocd/argocd-server", 8080)
        assert not may("mlflow/mlflow-users", "MODELS/model", 8080)
        assert not may("argocd/argocd-server", "mlflow/mlflow-users", 8000)
        assert may("object-storage/minio-setup", "object-storage/minio", 9000)
        assert not may("object-storage/minio-setup", "object-storage/postgres", 5432)
        assert not may("object-storage/minio-setup", "mlflow/mlflow", 5000)
