"""The RegistryGateway component under Pulumi's mocks, beside a stack's MLflow: every object on the given
provider and admitted by its CRD, the route on MLflow's real Service, the network path open from the
load balancer to the registry's proxies to MLflow and nowhere else, and the CrossGuard rules passing
it and catching each walk-around (a plain HTTP listener, the allow-list loosened or overridden)."""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import re
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import MockResourceArgs
from ruamel.yaml import YAML

from modelops_infra import layout as L
from modelops_infra.components.registry_gateway import RegistryGateway, RegistryGatewayArgs
from modelops_infra.manifests import registry_gateway as G
from modelops_infra.settings import RegistryIngressSettings, load_settings
from modelops_infra.subnets import plan_subnets
from modelops_policies import POLICIES, STACK_POLICIES, registry_exposure_rules
from tests.conftest import REPO_ROOT
from tests.infra.crd_checks import admission_problems
from tests.infra.harness import PROJECT, Declared, RecordingMocks, StackUnderTest
from tests.infra.workload_pods import workload_pod
from tests.policies.stack_args import from_declared, resource_args, violations
from tests.tools import require

HOST = "mlflow.registry.example.com"
OFFICE, NAT = "203.0.113.0/24", "198.51.100.7/32"
INGRESS = RegistryIngressSettings(hostname=HOST, issuer="letsencrypt-dns", allowed_cidrs=[OFFICE, NAT])
PROD_VPC = load_settings("prod", root=REPO_ROOT).platform.network.vpc_cidr
LOAD_BALANCER_CIDRS = plan_subnets(PROD_VPC, 3).public
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
SECURITY_POLICY = registry_exposure_rules.SECURITY_POLICY


class _ProviderMocks(RecordingMocks):
    """Also keeps which provider each resource was declared with."""

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[str, str | None] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.providers[args.name] = args.provider
        return super().new_resource(args)


def _declare(args: RegistryGatewayArgs) -> tuple[list[Declared], dict[str, str | None], RegistryGateway]:
    mocks = _ProviderMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="registry", preview=False)
    holder: dict[str, RegistryGateway] = {}

    @pulumi.runtime.test
    def declare() -> pulumi.Output[Any]:
        provider = k8s.Provider("registry-k8s", kubeconfig="{}")
        holder["gateway"] = RegistryGateway(
            "registry-gateway", args, opts=pulumi.ResourceOptions(provider=provider)
        )
        return pulumi.Output.from_input(holder["gateway"].url)

    declare()
    return mocks.declared, mocks.providers, holder["gateway"]


@pytest.fixture(scope="module")
def declared():
    return _declare(RegistryGatewayArgs(INGRESS, LOAD_BALANCER_CIDRS))


def _objects(resources: list[Declared]) -> list[dict[str, Any]]:
    return StackUnderTest("registry", list(resources)).kubernetes_objects()


def _one(resources: list[Declared], type_: str) -> Declared:
    (found,) = [r for r in resources if r.type == type_]
    return found


def test_every_object_is_declared_on_the_given_provider_and_admitted(declared):
    resources, providers, component = declared
    children = [r for r in resources if r.type.startswith("kubernetes:")]
    kinds = sorted(r.type.rsplit(":", 1)[-1] for r in children)
    assert kinds == sorted(
        ["EnvoyProxy", "Certificate", "ClientTrafficPolicy", "SecurityPolicy", "Gateway", "HTTPRoute"]
        + ["BackendTrafficPolicy", "HTTPRouteFilter"]
        + ["NetworkPolicy"] * 3
    )
    for child in children:
        assert (providers[child.name] or "").split("::")[-1].startswith("registry-k8s"), child.name
    for obj in _objects(resources):
        if obj["kind"] == "NetworkPolicy":
            kubernetes_validate.validate(obj, "1.33.0", strict=True)
        else:
            assert admission_problems(obj) == [], obj["kind"]
    assert component.url == f"https://{HOST}"
    assert component.allowed_hosts == G.public_allowed_hosts(HOST)
    assert component.allowed_origins == [f"https://{HOST}"]


def _route_reaches(route: dict[str, Any], service: dict[str, Any]) -> bool:
    """Every backend of `route` is `service` (by namespace, name and one of its ports)."""
    namespace = route["metadata"]["namespace"]
    ports = {p["port"] for p in service["spec"]["ports"]}
    backends = [b for rule in route["spec"]["rules"] for b in rule.get("backendRefs", [])]
    return bool(backends) and all(
        b.get("kind", "Service") == "Service"
        and b.get("group", "") == ""
        and b["name"] == service["metadata"]["name"]
        and b.get("namespace", namespace) == service["metadata"]["namespace"]
        and b["port"] in ports
        for b in backends
    )


def test_the_route_reaches_the_service_the_registry_declares_and_no_other(declared, registry_stack):
    resources, _, _ = declared
    route = _one(resources, ROUTE).inputs
    (service,) = [
        s.inputs
        for s in registry_stack.of_type("kubernetes:core/v1:Service")
        if (s.inputs["metadata"]["namespace"], s.inputs["metadata"]["name"])
        == (L.MLFLOW_NAMESPACE, L.MLFLOW_APP)
    ]
    assert _route_reaches(route, service)
    # The check fails for a route to anything else: another Service, port or namespace.
    backend = route["spec"]["rules"][-1]["backendRefs"][0]
    for other in ({"name": "argocd-server"}, {"port": 8080}, {"namespace": L.JOBS_NAMESPACE}):
        elsewhere = copy.deepcopy(route)
        elsewhere["spec"]["rules"] = [{"backendRefs": [{**backend, **other}]}]
        assert not _route_reaches(elsewhere, service), other


# --- the network path: load balancer -> the registry's proxies -> MLflow, nothing else ---


def _reach(objects: list[dict[str, Any]], pods: list[dict[str, Any]], folder) -> dict[tuple[str, str], str]:
    """Who may reach whom under `objects`' NetworkPolicies, as network-config-analyzer answers."""
    from nca.nca_cli import nca_main

    yaml = YAML(typ="safe")
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    namespaces.append(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "labels": {}}}
    )
    with (folder / "policies.yaml").open("w") as handle:
        yaml.dump_all([o for o in objects if o["kind"] == "NetworkPolicy"], handle)
    with (folder / "namespaces.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "NamespaceList", "items": namespaces}, handle)
    with (folder / "pods.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "PodList", "items": pods}, handle)
    out = folder / "connectivity.txt"
    files = {"--connectivity": "policies.yaml", "--pod_list": "pods.yaml", "--ns_list": "namespaces.yaml"}
    arguments = [item for flag, name in files.items() for item in (flag, str(folder / name))]
    nca_main([*arguments, "--output_format", "txt_no_fw_rules", "--file_out", str(out)])
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
    return any(
        int(low) <= port <= int(high or low)
        for low, _, high in (part.partition("-") for part in ports[1].split(","))
    )


def test_only_the_load_balancers_subnets_reach_the_registry_proxies_and_only_they_reach_mlflow(
    declared, registry_stack, tmp_path
):
    require(importlib.util.find_spec("nca") is not None, "network-config-analyzer (nca)")
    resources, _, _ = declared
    mine = [o for o in _objects(resources) if o["kind"] == "NetworkPolicy"]
    assert len(mine) == 3
    proxy = {"app.kubernetes.io/component": "proxy"}
    models_proxy = {G.OWNING_GATEWAY_NAME: L.GATEWAY_NAME, G.OWNING_GATEWAY_NAMESPACE: L.GATEWAY_NAMESPACE}
    pods = [
        workload_pod(L.GATEWAY_NAMESPACE, "registry-envoy", {**G.proxy_pod_labels(), **proxy}, 10443),
        workload_pod(L.GATEWAY_NAMESPACE, "models-envoy", {**models_proxy, **proxy}, 10080),
        workload_pod(L.MLFLOW_NAMESPACE, "mlflow", {"app": L.MLFLOW_APP}, L.MLFLOW_PORT),
        workload_pod(L.JOBS_NAMESPACE, "drift-job", {"app": "drift"}, 8000),
    ]
    # The registry's cluster, with these policies in place of the ones it declared for its own Gateway.
    ours = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in mine}
    cluster = [
        o
        for o in registry_stack.kubernetes_objects()
        if o["kind"] != "NetworkPolicy" or (o["metadata"]["namespace"], o["metadata"]["name"]) not in ours
    ]
    pairs = _reach([*cluster, *mine], pods, tmp_path)

    def may(src: str, dst: str, port: int) -> bool:
        return _permits(pairs.get((src, dst)), port)

    assert G.GATEWAY_HTTPS_PROXY_PORT == 10443
    assert may("envoy-gateway-system/registry-envoy", "mlflow/mlflow", L.MLFLOW_PORT)
    assert not may("envoy-gateway-system/models-envoy", "mlflow/mlflow", L.MLFLOW_PORT)
    assert not may("envoy-gateway-system/registry-envoy", "modelops-jobs/drift-job", 8000)
    assert not may("modelops-jobs/drift-job", "envoy-gateway-system/registry-envoy", 10443)
    # Address ranges (not pods) that reach the registry's proxies on their HTTPS port: the load
    # balancer's subnets, all of them and nothing more.
    sources = [
        src
        for (src, dst), connection in pairs.items()
        if dst == "envoy-gateway-system/registry-envoy" and "/" not in src and _permits(connection, 10443)
    ]
    assert sources
    reached = [
        network
        for source in sources
        for network in ipaddress.summarize_address_range(
            ipaddress.ip_address(source.partition("-")[0]),
            ipaddress.ip_address(source.partition("-")[2] or source.partition("-")[0]),
        )
    ]
    subnets = [ipaddress.ip_network(cidr) for cidr in LOAD_BALANCER_CIDRS]
    assert list(ipaddress.collapse_addresses(reached)) == list(ipaddress.collapse_addresses(subnets))


def test_no_load_balancer_subnets_is_refused_rather_than_open_to_none_or_all():
    with pytest.raises(ValueError, match="load balancer"):
        _declare(RegistryGatewayArgs(INGRESS, ()))


# --- CrossGuard on the declared objects: passing, and catching each walk-around ---


def _exposure_violations(resources: list[Declared]) -> list[str]:
    args = from_declared(resources, name="prod")
    found = [
        *violations(registry_exposure_rules.mlflow_routes_use_tls, args),
        *violations(registry_exposure_rules.mlflow_routes_allow_listed, args),
    ]
    for resource in resources:
        found += violations(
            registry_exposure_rules.security_policy_allow_list_narrow,
            resource_args(resource.type, resource.inputs),
        )
    return found


def _changed(resources: list[Declared], type_: str, change) -> list[Declared]:
    out = []
    for resource in resources:
        if resource.type == type_:
            inputs = copy.deepcopy(resource.inputs)
            change(inputs)
            resource = replace(resource, inputs=inputs)
        out.append(resource)
    return out


def test_the_pack_registers_the_rules_and_they_pass_the_component(declared):
    names = {p.name for p in [*POLICIES, *STACK_POLICIES]}
    assert {
        "security-policy-allow-list-narrow",
        "mlflow-routes-use-tls",
        "mlflow-routes-allow-listed",
    } <= names
    resources, _, _ = declared
    assert _exposure_violations(resources) == []
    assert registry_exposure_rules.MLFLOW_SERVICE == L.MLFLOW_APP
    assert registry_exposure_rules.MLFLOW_NAMESPACE == L.MLFLOW_NAMESPACE


def _add_http_listener(inputs):
    inputs["spec"]["listeners"].append({"name": "http", "protocol": "HTTP", "port": 80, "hostname": HOST})


def _route_to_any_listener(inputs):
    for parent in inputs["spec"]["parentRefs"]:
        parent.pop("sectionName")


def _open_to_the_world(inputs):
    inputs["spec"]["authorization"]["rules"][0]["principal"]["clientCIDRs"].append("0.0.0.0/0")


def _default_allow(inputs):
    inputs["spec"]["authorization"]["defaultAction"] = "Allow"


@pytest.mark.parametrize(
    ("type_", "change", "caught"),
    [
        # A plain HTTP listener beside HTTPS, and the route no longer pinned to the https one.
        (GATEWAY, _add_http_listener, "listener http (HTTP) exposes HTTPRoute mlflow/mlflow"),
        (SECURITY_POLICY, _open_to_the_world, "0.0.0.0/0 is the whole internet"),
        (SECURITY_POLICY, _default_allow, "defaultAction is not Deny"),
    ],
)
def test_the_rules_catch_the_component_walked_around(declared, type_, change, caught):
    resources, _, _ = declared
    walked = _changed(resources, type_, change)
    if change is _add_http_listener:
        walked = _changed(walked, ROUTE, _route_to_any_listener)
    found = _exposure_violations(walked)
    assert found and all(caught in message for message in found), found


def test_an_http_listener_the_route_cannot_attach_to_is_no_exposure(declared):
    """The route is pinned to the https listener: an HTTP listener beside it serves nothing of MLflow's."""
    resources, _, _ = declared
    assert _exposure_violations(_changed(resources, GATEWAY, _add_http_listener)) == []


def test_the_rules_catch_the_allow_list_dropped_or_overridden(declared):
    resources, _, _ = declared
    without = [r for r in resources if r.type != SECURITY_POLICY]
    assert _exposure_violations(without) == [
        "HTTPRoute mlflow/mlflow to MLflow has no SecurityPolicy allow-list targeting it (or its Gateway)."
    ]
    # A second, route-level policy with no authorization would replace the allow-list for this route.
    cors_only = Declared(
        SECURITY_POLICY,
        "cors",
        {
            "apiVersion": "gateway.envoyproxy.io/v1alpha1",
            "kind": "SecurityPolicy",
            "metadata": {"name": "cors", "namespace": L.MLFLOW_NAMESPACE},
            "spec": {
                "targetRefs": [
                    {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": G.ROUTE_NAME}
                ],
                "cors": {"allowOrigins": ["https://example.com"]},
            },
        },
    )
    [found] = _exposure_violations([*resources, cors_only])
    assert "SecurityPolicy mlflow/cors applies to HTTPRoute mlflow/mlflow" in found
