"""The platform's network policy, as plain manifests: default deny, then each allowed path.

Pure data, so the tests can hand exactly these objects to an analyzer and ask who may reach whom.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelops_infra import layout as L
from modelops_infra.manifests.alert_routing import RELAY_APP

Manifest = dict[str, Any]
ANYWHERE = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]


@dataclass(frozen=True)
class BackendPeers:
    """Where this stack's object store and database live, as network-policy peers."""

    object_store: list[Manifest]
    object_store_port: int
    database: list[Manifest]
    database_port: int
    # Where pods with a Pod Identity association fetch credentials (AWS only).
    credential_agent: list[Manifest] = field(default_factory=list)


def aws_backend_peers(endpoint_cidrs: tuple[str, ...], data_cidrs: tuple[str, ...]) -> BackendPeers:
    # S3 is reached only through the interface endpoint's addresses, RDS only in the data tier.
    return BackendPeers(
        object_store=[{"ipBlock": {"cidr": cidr}} for cidr in endpoint_cidrs],
        object_store_port=L.HTTPS_PORT,
        database=[{"ipBlock": {"cidr": cidr}} for cidr in data_cidrs],
        database_port=L.POSTGRES_PORT,
        credential_agent=[{"ipBlock": {"cidr": L.POD_IDENTITY_AGENT_CIDR}}],
    )


def local_backend_peers() -> BackendPeers:
    return BackendPeers(
        object_store=[_pods(L.STORAGE_NAMESPACE, {"app": L.MINIO_APP})],
        object_store_port=L.MINIO_PORT,
        database=[_pods(L.STORAGE_NAMESPACE, {"app": L.POSTGRES_APP})],
        database_port=L.POSTGRES_PORT,
    )


def _namespace(name: str) -> Manifest:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _pods(namespace: str, labels: dict[str, str]) -> Manifest:
    return {**_namespace(namespace), "podSelector": {"matchLabels": labels}}


def _ports(*ports: int, protocol: str = "TCP") -> list[Manifest]:
    return [{"protocol": protocol, "port": port} for port in ports]


def _policy(
    namespace: str,
    name: str,
    *,
    pods: dict[str, str] | None = None,
    selector: Manifest | None = None,
    **rules: Any,
) -> Manifest:
    types = [kind for kind, key in (("Ingress", "ingress"), ("Egress", "egress")) if key in rules]
    pod_selector = selector if selector is not None else ({"matchLabels": pods} if pods else {})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": pod_selector, "policyTypes": types, **rules},
    }


# Policies add up: a namespace-wide allow would also open the alert relay (it holds a GitHub
# token), whose own policy admits Alertmanager only and lets it out to DNS and 443 only.
_NOT_THE_RELAY: Manifest = {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": [RELAY_APP]}]}


def namespace_manifests(runs: L.ClusterRuns) -> list[Manifest]:
    manifests = []
    for owned in L.owned_namespaces(runs):
        labels = {
            "kubernetes.io/metadata.name": owned.name,
            "app.kubernetes.io/part-of": "modelops",
            **{
                f"pod-security.kubernetes.io/{mode}": owned.pod_security
                for mode in ("enforce", "audit", "warn")
            },
        }
        if owned.name == runs.models_namespace:
            labels[L.SERVING_NAMESPACE_LABEL] = "true"
        manifests.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": owned.name, "labels": labels}}
        )
    return manifests


def network_policies(
    runs: L.ClusterRuns, peers: BackendPeers, *, mlflow_clients: list[str]
) -> list[Manifest]:
    """Default deny in every namespace `runs` gives the cluster, then the paths its workloads use: no
    rule names a namespace the cluster does not create (`L.owned_namespaces`)."""
    owned = L.owned_namespaces(runs)
    prometheus = L.MONITORING_NAMESPACE in {ns.name for ns in owned}
    models = [runs.models_namespace] if runs.models_namespace is not None else []
    strays = sorted(set(mlflow_clients) - set(L.mlflow_client_namespaces(runs)))
    if strays:
        raise ValueError(f"MLflow's clients must be this cluster's namespaces, other than MLflow's: {strays}")
    dns = {"to": [_pods("kube-system", {"k8s-app": "kube-dns"})], "ports": _ports(L.DNS_PORT, protocol="UDP")}
    dns["ports"] += _ports(L.DNS_PORT)
    policies: list[Manifest] = []
    for ns in owned:
        policies.append(_policy(ns.name, "default-deny", ingress=[], egress=[]))
        policies.append(_policy(ns.name, "allow-dns", egress=[dns]))
        if ns.controller:
            # Controllers talk among themselves, to the API server and to registries / GitHub.
            same: list[Manifest] = [{"podSelector": {}}]
            wide = _NOT_THE_RELAY if ns.name == L.MONITORING_NAMESPACE else None
            policies.append(
                _policy(
                    ns.name,
                    "allow-same-namespace",
                    ingress=[{"from": same}],
                    egress=[{"to": same}],
                    selector=wide,
                )
            )
            policies.append(
                _policy(
                    ns.name,
                    "allow-https-egress",
                    egress=[{"to": ANYWHERE, "ports": _ports(L.HTTPS_PORT, 6443)}],
                    selector=wide,
                )
            )
            policies.append(
                _policy(
                    ns.name,
                    "allow-webhooks",
                    ingress=[{"from": ANYWHERE, "ports": _ports(*L.WEBHOOK_PORTS)}],
                    selector=wide,
                )
            )
        # Prometheus scrapes where there is one; models and MLflow admit it on their own terms below.
        if prometheus and ns.name not in (L.MONITORING_NAMESPACE, *models, L.MLFLOW_NAMESPACE):
            scrape = {"from": [_namespace(L.MONITORING_NAMESPACE)]}
            policies.append(_policy(ns.name, "allow-prometheus-scrape", ingress=[scrape]))

    object_store = {"to": peers.object_store, "ports": _ports(peers.object_store_port)}
    for models_namespace in models:
        policies += _serving_policies(models_namespace, object_store)
    if peers.credential_agent:
        # Model pods' and the jobs' bucket credentials come from the node's Pod Identity agent.
        agent = {"to": peers.credential_agent, "ports": _ports(L.POD_IDENTITY_AGENT_PORT)}
        for namespace in (*models, *mlflow_clients):
            policies.append(_policy(namespace, "allow-pod-identity-agent", egress=[agent]))
    if runs.mlflow:
        scrapers = [L.MONITORING_NAMESPACE] if prometheus else []
        policies += _mlflow_policies(peers, clients=[*mlflow_clients, *scrapers], object_store=object_store)
        for client in mlflow_clients:
            policies.append(_policy(client, "allow-mlflow", egress=[_to_mlflow(), object_store]))
    if runs.object_storage:
        # MinIO serves MLflow, model pods (KServe's storage initializer) and MLflow's clients.
        policies += _object_storage_policies(readers=[L.MLFLOW_NAMESPACE, *models, *mlflow_clients])
    return policies


def _serving_policies(models_namespace: str, object_store: Manifest) -> list[Manifest]:
    """Prometheus scrapes everything; the internet reaches the models' Gateway, which reaches model pods
    only; model pods (and KServe's storage initializer inside them) fetch artifacts, nothing else."""
    return [
        # Prometheus scrapes pods everywhere and kubelets / node-exporters on host addresses.
        _policy(
            L.MONITORING_NAMESPACE,
            "allow-scrape-egress",
            egress=[{"to": [{"namespaceSelector": {}}, *ANYWHERE]}],
            selector=_NOT_THE_RELAY,
        ),
        _policy(
            L.GATEWAY_NAMESPACE,
            "allow-public-ingress",
            ingress=[{"from": ANYWHERE, "ports": _ports(L.GATEWAY_PROXY_PORT)}],
        ),
        _policy(
            L.GATEWAY_NAMESPACE,
            "allow-to-models",
            egress=[{"to": [_namespace(models_namespace)], "ports": _ports(L.MODEL_HTTP_PORT)}],
        ),
        _policy(
            models_namespace,
            "allow-from-gateway",
            ingress=[{"from": [_namespace(L.GATEWAY_NAMESPACE)], "ports": _ports(L.MODEL_HTTP_PORT)}],
        ),
        _policy(
            models_namespace,
            "allow-prometheus-scrape",
            ingress=[{"from": [_namespace(L.MONITORING_NAMESPACE)], "ports": _ports(L.MODEL_METRICS_PORT)}],
        ),
        _policy(models_namespace, "allow-object-store", egress=[object_store]),
    ]


def _to_mlflow() -> Manifest:
    return {"to": [_pods(L.MLFLOW_NAMESPACE, {"app": L.MLFLOW_APP})], "ports": _ports(L.MLFLOW_PORT)}


def _mlflow_policies(peers: BackendPeers, *, clients: list[str], object_store: Manifest) -> list[Manifest]:
    """MLflow, where it runs: reachable from `clients` (its client namespaces, and Prometheus where
    there is one), reaching its two backends; inside its namespace, only the Job that creates its
    service users calls it. (Its clients also reach the artifact store: with --no-serve-artifacts they
    upload to it themselves.)"""
    mlflow = {"app": L.MLFLOW_APP}
    users_job = {"podSelector": {"matchLabels": {"app": L.MLFLOW_USERS_APP}}}
    database = {"to": peers.database, "ports": _ports(peers.database_port)}
    return [
        _policy(
            L.MLFLOW_NAMESPACE,
            "allow-clients",
            pods=mlflow,
            ingress=[{"from": [*map(_namespace, clients), users_job], "ports": _ports(L.MLFLOW_PORT)}],
        ),
        _policy(L.MLFLOW_NAMESPACE, "allow-backends", pods=mlflow, egress=[database, object_store]),
        _policy(
            L.MLFLOW_NAMESPACE, "allow-users-job", pods={"app": L.MLFLOW_USERS_APP}, egress=[_to_mlflow()]
        ),
    ]


def _object_storage_policies(*, readers: list[str]) -> list[Manifest]:
    """Postgres admits MLflow; MinIO admits `readers` and the Job that sets it up."""
    setup = {"podSelector": {"matchLabels": {"app": L.MINIO_SETUP_APP}}}
    # The Job that creates the bucket and the MinIO users talks to MinIO and nothing else.
    to_minio = {"to": [_pods(L.STORAGE_NAMESPACE, {"app": L.MINIO_APP})], "ports": _ports(L.MINIO_PORT)}
    return [
        _policy(
            L.STORAGE_NAMESPACE,
            "allow-postgres-from-mlflow",
            pods={"app": L.POSTGRES_APP},
            ingress=[{"from": [_namespace(L.MLFLOW_NAMESPACE)], "ports": _ports(L.POSTGRES_PORT)}],
        ),
        _policy(
            L.STORAGE_NAMESPACE,
            "allow-minio-clients",
            pods={"app": L.MINIO_APP},
            ingress=[{"from": [*map(_namespace, readers), setup], "ports": _ports(L.MINIO_PORT)}],
        ),
        _policy(L.STORAGE_NAMESPACE, "allow-minio-setup", pods={"app": L.MINIO_SETUP_APP}, egress=[to_minio]),
    ]


def registry_gateway_policies(load_balancer_cidrs: tuple[str, ...]) -> list[Manifest]:
    """The registry Gateway's path: its load balancer to its Envoy pods, those pods to MLflow.

    `load_balancer_cidrs` are the public subnets the load balancer's nodes live in. The Gateway's
    Service keeps client connections unmasqueraded (externalTrafficPolicy Local), so the proxy sees the
    load balancer's own address; admitting only those subnets means no pod can reach the proxy and
    hand it a PROXY header naming an allowed client. Additive to `network_policies()`: the registry
    stack's namespaces already deny everything else.
    """
    from modelops_infra.manifests.registry_gateway import GATEWAY_HTTPS_PROXY_PORT, proxy_pod_labels

    if not load_balancer_cidrs:
        raise ValueError("the registry gateway needs the load balancer's subnets; none would admit anyone")
    proxies = proxy_pod_labels()
    mlflow = {"app": L.MLFLOW_APP}
    from_load_balancer = [{"ipBlock": {"cidr": cidr}} for cidr in load_balancer_cidrs]
    return [
        _policy(
            L.GATEWAY_NAMESPACE,
            "allow-registry-from-load-balancer",
            pods=proxies,
            ingress=[{"from": from_load_balancer, "ports": _ports(GATEWAY_HTTPS_PROXY_PORT)}],
        ),
        _policy(
            L.GATEWAY_NAMESPACE,
            "allow-registry-to-mlflow",
            pods=proxies,
            egress=[{"to": [_pods(L.MLFLOW_NAMESPACE, mlflow)], "ports": _ports(L.MLFLOW_PORT)}],
        ),
        _policy(
            L.MLFLOW_NAMESPACE,
            "allow-from-registry-gateway",
            pods=mlflow,
            ingress=[{"from": [_pods(L.GATEWAY_NAMESPACE, proxies)], "ports": _ports(L.MLFLOW_PORT)}],
        ),
    ]
