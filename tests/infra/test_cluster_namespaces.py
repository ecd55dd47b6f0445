"""Each cluster creates only the namespaces something runs in, and allows no path to one it lacks.

A namespace nothing runs in, with its policies, misleads whoever reads the cluster: its allow rules
wait for whatever is deployed there next. Three kinds of cluster (layout.ClusterRuns): an
environment's on AWS reads the registry stack's MLflow over HTTPS, so it has no `mlflow` namespace;
the registry's serves no model, so it has no models namespace, Prometheus, Argo CD or KServe; the
local stack runs everything, its own MLflow, Postgres and MinIO included.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelops.errors import InputError
from modelops_infra import layout as L
from modelops_infra.manifests.network_policies import local_backend_peers, network_policies
from modelops_infra.settings import REGISTRY_SETTINGS, REGISTRY_STACK
from tests.infra.conftest import AWS_STACKS
from tests.infra.harness import StackUnderTest, build_stack

NAMESPACE = "kubernetes:core/v1:Namespace"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
# What the cluster itself brings: policies may name its DNS, never create anything there.
SYSTEM_NAMESPACES = {"kube-system"}
NAME_LABEL = "kubernetes.io/metadata.name"


def _declared(stack: StackUnderTest) -> set[str]:
    return {n.inputs["metadata"]["name"] for n in stack.of_type(NAMESPACE)}


def _workload_namespaces(stack: StackUnderTest) -> set[str]:
    """Where the stack's workloads live: the namespace of every namespaced object it declares (Helm
    releases and Pod Identity associations included), but the policies every namespace gets anyway."""
    found = set()
    for resource in stack.resources:
        if resource.type in (NAMESPACE, POLICY):
            continue
        if resource.type == HELM_RELEASE or resource.type == POD_IDENTITY:
            found.add(resource.inputs["namespace"])
        elif resource.type.startswith("kubernetes:"):
            namespace = (resource.inputs.get("metadata") or {}).get("namespace")
            if namespace:
                found.add(namespace)
    return found


def _policies(stack: StackUnderTest) -> list[dict[str, Any]]:
    return [p.inputs for p in stack.of_type(POLICY)]


def _peers(policy: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = policy["spec"]
    for rule in spec.get("ingress", []):
        yield from rule.get("from", [])
    for rule in spec.get("egress", []):
        yield from rule.get("to", [])


def _named_namespace(peer: dict[str, Any]) -> str | None:
    return ((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get(NAME_LABEL)


def _admits_mlflow(policy: dict[str, Any]) -> bool:
    """The policy lets traffic in to MLflow's pods, or out towards them."""
    if policy["metadata"]["namespace"] == L.MLFLOW_NAMESPACE:
        return True
    return any(_named_namespace(peer) == L.MLFLOW_NAMESPACE for peer in _peers(policy))


@pytest.mark.parametrize("name", AWS_STACKS)
def test_an_environments_cluster_on_aws_declares_no_mlflow_namespace_and_no_policy_admitting_mlflow(
    stacks, name
):
    stack = stacks[name]
    assert L.MLFLOW_NAMESPACE not in _declared(stack)
    assert L.MLFLOW_NAMESPACE not in _workload_namespaces(stack)
    assert [p["metadata"] for p in _policies(stack) if _admits_mlflow(p)] == []
    # Its MLflow clients still reach the registry: at its Gateway's public address, over HTTPS.
    (monitor,) = [p for p in _policies(stack) if p["metadata"]["name"] == "monitor-egress"]
    assert any(port["port"] == L.HTTPS_PORT for r in monitor["spec"]["egress"] for port in r["ports"])


def test_the_registry_cluster_declares_only_the_namespaces_its_workloads_run_in(registry_stack):
    declared = _declared(registry_stack)
    # Derived from what is declared in them, so a namespace nothing uses fails here.
    assert declared == _workload_namespaces(registry_stack)
    # Which are: MLflow, the jobs that write artifacts, the Gateway with cert-manager, the CI runners.
    assert declared == {
        L.MLFLOW_NAMESPACE,
        L.JOBS_NAMESPACE,
        L.CERT_MANAGER_NAMESPACE,
        L.GATEWAY_NAMESPACE,
        "arc-systems",
        "arc-runners",
    }


@pytest.mark.parametrize("name", ["local", *AWS_STACKS, REGISTRY_STACK])
def test_every_cluster_declares_the_namespaces_its_workloads_run_in_and_no_other(every_stack, name):
    stack = every_stack[name]
    assert _declared(stack) == _workload_namespaces(stack)


@pytest.mark.parametrize("name", ["local", *AWS_STACKS, REGISTRY_STACK])
def test_no_policy_names_a_namespace_the_cluster_does_not_create(every_stack, name):
    stack = every_stack[name]
    known = _declared(stack) | SYSTEM_NAMESPACES
    for policy in _policies(stack):
        assert policy["metadata"]["namespace"] in _declared(stack), policy["metadata"]
        named = {_named_namespace(peer) for peer in _peers(policy)} - {None}
        assert named <= known, (policy["metadata"], named - known)


def test_the_registry_clusters_mlflow_admits_its_clients_and_no_prometheus(registry_stack):
    policies = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in _policies(registry_stack)}
    clients = policies[(L.MLFLOW_NAMESPACE, "allow-clients")]["spec"]["ingress"][0]["from"]
    admitted = {_named_namespace(peer) for peer in clients} - {None}
    assert admitted == {L.JOBS_NAMESPACE}  # registry.client_namespaces; no monitoring namespace here
    assert (L.JOBS_NAMESPACE, "allow-mlflow") in policies
    # Nothing of serving: no public listener on the models' port, no scrape rules.
    names = {name for _, name in policies}
    assert not names & {"allow-public-ingress", "allow-to-models", "allow-prometheus-scrape"}


def test_the_local_stack_keeps_its_mlflow_postgres_and_minio_policies(stacks):
    names = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in _policies(stacks["local"])}
    assert {
        (L.MLFLOW_NAMESPACE, "allow-clients"),
        (L.MLFLOW_NAMESPACE, "allow-backends"),
        (L.MLFLOW_NAMESPACE, "allow-users-job"),
        (L.MLFLOW_NAMESPACE, "mlflow-from-monitor"),
        (L.JOBS_NAMESPACE, "allow-mlflow"),
        (L.STORAGE_NAMESPACE, "allow-postgres-from-mlflow"),
        (L.STORAGE_NAMESPACE, "allow-minio-clients"),
        (L.STORAGE_NAMESPACE, "allow-minio-setup"),
    } <= names
    assert {L.MLFLOW_NAMESPACE, L.STORAGE_NAMESPACE, "models-local"} <= _declared(stacks["local"])


def test_what_each_kind_of_cluster_runs_decides_its_namespaces():
    def names(runs: L.ClusterRuns) -> set[str]:
        return {ns.name for ns in L.owned_namespaces(runs)}

    serving = {"models-x", L.JOBS_NAMESPACE, L.MONITORING_NAMESPACE, L.ARGOCD_NAMESPACE, L.KSERVE_NAMESPACE}
    gateway = {L.CERT_MANAGER_NAMESPACE, L.GATEWAY_NAMESPACE}
    assert names(L.ClusterRuns.environment_on_aws("models-x")) == serving | gateway
    assert names(L.ClusterRuns.local("models-x")) == serving | gateway | {
        L.MLFLOW_NAMESPACE,
        L.STORAGE_NAMESPACE,
    }
    assert names(L.ClusterRuns.registry()) == {L.MLFLOW_NAMESPACE, L.JOBS_NAMESPACE} | gateway
    # Postgres and MinIO are MLflow's backends: never without it.
    with pytest.raises(ValueError, match="MLflow"):
        L.ClusterRuns("models-x", mlflow=False, object_storage=True)


def test_mlflows_clients_are_the_clusters_namespaces_but_mlflows_own():
    local = L.ClusterRuns.local("models-local")
    assert L.MLFLOW_NAMESPACE not in L.mlflow_client_namespaces(local)
    assert L.JOBS_NAMESPACE in L.mlflow_client_namespaces(local)
    assert "models-local" not in L.mlflow_client_namespaces(L.ClusterRuns.registry())
    # The pure builder refuses them too, whoever calls it.
    with pytest.raises(ValueError, match="mlflow"):
        network_policies(local, local_backend_peers(), mlflow_clients=[L.MLFLOW_NAMESPACE])


def _copy(repo_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("environments", "policies"):
        shutil.copytree(repo_root / folder, root / folder)
    return root


def _name_client(path: Path, client: str) -> None:
    text = path.read_text()
    assert text.count("client_namespaces: [modelops-jobs]") == 1
    path.write_text(text.replace("client_namespaces: [modelops-jobs]", f"client_namespaces: [{client}]"))


@pytest.mark.parametrize(
    ("stack", "file", "client", "field"),
    [
        # MLflow is not its own client: naming its namespace would open it to every pod there.
        ("local", "environments/local.yaml", L.MLFLOW_NAMESPACE, "platform.registry.client_namespaces"),
        # An environment on AWS runs no MLflow, so has no mlflow namespace to name.
        ("dev", "environments/dev.yaml", L.MLFLOW_NAMESPACE, "platform.registry.client_namespaces"),
        # The registry serves no model: it has no models namespace (nor monitoring) to name.
        (REGISTRY_STACK, str(REGISTRY_SETTINGS), "models-registry", "registry.client_namespaces"),
        (REGISTRY_STACK, str(REGISTRY_SETTINGS), L.MONITORING_NAMESPACE, "registry.client_namespaces"),
    ],
)
def test_a_client_namespace_the_cluster_does_not_run_mlflows_clients_in_is_refused(
    repo_root, tmp_path, stack, file, client, field
):
    root = _copy(repo_root, tmp_path)
    _name_client(root / file, client)
    with pytest.raises(
        InputError, match=rf"field '{re.escape(field)}': {client} is not a platform namespace"
    ):
        build_stack(
            stack,
            root=root,
            bootstrap_dir=repo_root / "gitops" / "bootstrap",
            models_dir=repo_root / "gitops" / "models",
            references={},
        )
