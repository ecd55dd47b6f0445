"""The registry's ingress as built: HTTPS only, the named issuer's certificate, MLflow's Service behind an
allow-list that Envoy enforces with the client's real address. The walk-arounds come first."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import BaseModel, ConfigDict
from ruamel.yaml import YAML

from modelops.config import read_yaml, validate_file
from modelops.errors import InputError
from modelops_infra import layout as L
from modelops_infra.manifests import registry_gateway as G
from modelops_infra.manifests.network_policies import namespace_manifests
from modelops_infra.settings import RegistryIngressSettings, require_ingress_allow_list
from tests.infra.crd_checks import admission_problems

HOST = "mlflow.registry.example.com"
OFFICE, NAT = "203.0.113.0/24", "198.51.100.7/32"


def _ingress(**changes) -> RegistryIngressSettings:
    values = {"hostname": HOST, "issuer": "letsencrypt-dns", "allowed_cidrs": [OFFICE, NAT], **changes}
    return RegistryIngressSettings(**values)


def _by_kind(ingress: RegistryIngressSettings | None = None) -> dict[str, dict]:
    manifests = G.registry_gateway_manifests(ingress or _ingress())
    kinds = {m["kind"]: m for m in manifests}
    assert len(kinds) == len(manifests)
    return kinds


class _File(BaseModel):
    """The section as a stack file would carry it (the integrator names the field in the platform)."""

    model_config = ConfigDict(extra="forbid")
    registry_ingress: RegistryIngressSettings


def _load(tmp_path, cidrs) -> RegistryIngressSettings:
    path = tmp_path / "registry.yaml"
    section = {"hostname": HOST, "issuer": "letsencrypt-dns", "allowed_cidrs": cidrs}
    YAML().dump({"registry_ingress": section}, path)
    return validate_file(_File, read_yaml(path), path).registry_ingress


# --- the walk-arounds: the internet in any spelling, no list, a private name ---


@pytest.mark.parametrize(
    "cidrs",
    [
        ["0.0.0.0/0"],
        [OFFICE, "0.0.0.0/0"],
        ["::/0"],
        ["0.0.0.0/1", "128.0.0.0/1"],  # the internet in two halves
        ["10.0.0.0/8"],  # wider than an allow-list of people
        ["::ffff:0:0/96"],  # every IPv4 client, written as IPv6
        ["203.0.113.7/24"],  # host bits: a typo or a wider range than meant
        ["not-a-network"],
        [],
    ],
)
def test_a_settings_file_that_opens_the_registry_to_the_internet_is_refused_naming_the_field(tmp_path, cidrs):
    with pytest.raises(InputError) as refused:
        _load(tmp_path, cidrs)
    message = str(refused.value)
    assert str(tmp_path / "registry.yaml") in message
    assert "registry_ingress.allowed_cidrs" in message


def test_a_settings_file_with_office_and_nat_networks_is_accepted(tmp_path):
    assert _load(tmp_path, [OFFICE, NAT]).allowed_cidrs == [OFFICE, NAT]


@pytest.mark.parametrize(
    "changes",
    [
        {"hostname": "mlflow.mlflow.svc.cluster.local"},
        {"hostname": "mlflow.internal"},
        {"hostname": "mlflow"},  # no domain: no certificate authority signs it for the public
        {"hostname": "*.example.com"},
        {"hostname": "MLflow.Example.com"},  # MLflow compares Host headers exactly, lower case
        {"hostname": ""},
        {"allowed_cidrs": [OFFICE, OFFICE]},
        {"issuer": ""},
        {"issuer_kind": "Vault"},
        {"tls": "off"},
    ],
)
def test_other_bad_sections_are_refused(changes):
    with pytest.raises(ValueError):
        _ingress(**changes)


def test_a_hostname_and_issuer_are_required():
    with pytest.raises(ValueError):
        RegistryIngressSettings(allowed_cidrs=[OFFICE])


@pytest.mark.parametrize("stack", ["prod", "staging", "registry", ""])
def test_outside_dev_and_local_a_stack_serving_the_registry_must_name_its_allow_list(stack):
    with pytest.raises(InputError, match=r"registry.yaml: field 'platform.registry_ingress'"):
        require_ingress_allow_list(stack, None, source="environments/registry.yaml")
    ingress = _ingress()
    assert require_ingress_allow_list(stack, ingress, source="environments/registry.yaml") is ingress


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_dev_and_local_may_leave_the_registry_unexposed(stack):
    assert require_ingress_allow_list(stack, None, source="environments/dev.yaml") is None


# --- what the API server admits ---


def test_every_object_is_admitted_by_its_crd_schema_and_rules():
    for manifest in G.registry_gateway_manifests(_ingress()):
        assert admission_problems(manifest) == [], manifest["kind"]


def test_the_admission_check_refuses_what_the_api_server_would():
    """The checker itself can say no: a misspelt field, an HTTPS listener passing TLS through, a rule
    with no principal, a policy with no target, a setting of the wrong type."""
    kinds = _by_kind()
    policy = kinds["SecurityPolicy"]
    [rule] = policy["spec"]["authorization"]["rules"]
    misspelt = {**rule, "principal": {"clientCidrs": [OFFICE]}}
    assert admission_problems(_replace(policy, ["spec", "authorization", "rules"], [misspelt]))
    assert admission_problems(
        _replace(policy, ["spec", "authorization", "rules"], [{**rule, "principal": {}}])
    )
    untargeted = {**policy, "spec": {k: v for k, v in policy["spec"].items() if k != "targetRefs"}}
    assert admission_problems(untargeted)
    gateway = kinds["Gateway"]
    [listener] = gateway["spec"]["listeners"]
    passthrough = {**listener, "tls": {"mode": "Passthrough"}}
    assert admission_problems(_replace(gateway, ["spec", "listeners"], [passthrough]))
    assert admission_problems(
        _replace(kinds["ClientTrafficPolicy"], ["spec", "proxyProtocol"], {"optional": "no"})
    )


def _replace(manifest: dict, path: list[str], value) -> dict:
    import copy

    changed = copy.deepcopy(manifest)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


# --- HTTPS only, with the named issuer's certificate ---


def test_the_gateway_listens_on_https_only_with_the_certificate_cert_manager_issues():
    kinds = _by_kind(_ingress(issuer="corp-acme", issuer_kind="Issuer"))
    gateway, certificate = kinds["Gateway"], kinds["Certificate"]
    [listener] = gateway["spec"]["listeners"]  # no plain HTTP listener, not even a redirect
    assert (listener["protocol"], listener["port"], listener["hostname"]) == ("HTTPS", 443, HOST)
    assert listener["tls"]["mode"] == "Terminate"
    [ref] = listener["tls"]["certificateRefs"]
    assert (ref["kind"], ref["name"]) == ("Secret", certificate["spec"]["secretName"])
    # The Secret is cert-manager's, in the Gateway's namespace (a certificateRef without a namespace).
    assert "namespace" not in ref
    assert certificate["metadata"]["namespace"] == gateway["metadata"]["namespace"] == L.GATEWAY_NAMESPACE
    assert certificate["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "Issuer",
        "name": "corp-acme",
    }
    assert certificate["spec"]["dnsNames"] == [HOST]


def test_the_gateway_runs_on_the_gatewayclass_serving_installs():
    from modelops_infra.components.serving import GATEWAY_CLASS

    assert _by_kind()["Gateway"]["spec"]["gatewayClassName"] == G.GATEWAY_CLASS == GATEWAY_CLASS


# --- the route: MLflow's Service and port, from MLflow's namespace only ---


def test_the_route_sends_the_hostname_to_mlflows_service_and_port_on_the_https_listener():
    kinds = _by_kind()
    route, gateway = kinds["HTTPRoute"], kinds["Gateway"]
    assert route["metadata"]["namespace"] == L.MLFLOW_NAMESPACE
    assert route["spec"]["hostnames"] == [HOST]
    [rule] = route["spec"]["rules"]
    assert "matches" not in rule  # every path
    # Requests pass unmodified; responses gain HSTS only.
    [hsts] = rule["filters"]
    assert hsts["type"] == "ResponseHeaderModifier"
    assert hsts["responseHeaderModifier"] == {
        "set": [{"name": "Strict-Transport-Security", "value": "max-age=31536000"}]
    }
    [backend] = rule["backendRefs"]
    assert backend == {"group": "", "kind": "Service", "name": L.MLFLOW_APP, "port": L.MLFLOW_PORT}
    [parent] = route["spec"]["parentRefs"]
    assert (parent["name"], parent["namespace"]) == (
        gateway["metadata"]["name"],
        gateway["metadata"]["namespace"],
    )
    [listener] = gateway["spec"]["listeners"]
    assert parent["sectionName"] == listener["name"]


def test_only_mlflows_namespace_may_attach_routes_and_no_reference_grant_is_needed():
    kinds = _by_kind()
    [listener] = kinds["Gateway"]["spec"]["listeners"]
    allowed = listener["allowedRoutes"]
    assert allowed["kinds"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]
    selector = allowed["namespaces"]["selector"]["matchLabels"]
    labels = {
        m["metadata"]["name"]: m["metadata"]["labels"]
        for m in namespace_manifests("models-prod", local=False)
    }
    admitted = [name for name, have in labels.items() if selector.items() <= have.items()]
    assert admitted == [L.MLFLOW_NAMESPACE]
    # The backend has no namespace of its own: the route's. A grant is needed only across namespaces.
    [rule] = kinds["HTTPRoute"]["spec"]["rules"]
    assert all("namespace" not in backend for backend in rule["backendRefs"])


def test_mlflow_answers_to_the_public_hostname_and_still_to_nothing_else():
    """MLflow's own Host check (`--allowed-hosts`), given the in-cluster names plus the new ones."""
    from mlflow.server.security_utils import is_allowed_host_header

    from modelops_infra.components.registry import allowed_hosts

    hosts = [*allowed_hosts(), *G.public_allowed_hosts(HOST)]
    assert is_allowed_host_header(hosts, HOST)
    assert is_allowed_host_header(hosts, f"{HOST}:443")
    assert not is_allowed_host_header(allowed_hosts(), HOST)
    for other in ("evil.example.com", f"x.{HOST}", f"{HOST}.evil.example.com", "registry.example.com"):
        assert not is_allowed_host_header(hosts, other), other


def test_people_can_change_things_from_mlflows_ui_at_the_hostname_and_no_other_site_can():
    """MLflow's own cross-origin check: a browser's POST carries `Origin`, same-origin included."""
    from mlflow.server.security_utils import should_block_cors_request

    origins = G.public_allowed_origins(HOST)
    assert should_block_cors_request(f"https://{HOST}", "POST", None)  # without the flag, refused
    assert not should_block_cors_request(f"https://{HOST}", "POST", origins)
    for other in (f"http://{HOST}", "https://evil.example.com", f"https://{HOST}.evil.example.com"):
        assert should_block_cors_request(other, "POST", origins), other


# --- the allow-list: default deny, only the networks given ---


def _verdict(policy: dict, client: str) -> str:
    """Envoy Gateway's authorization (api/v1alpha1/authorization_types.go at v1.7.4): the first rule
    whose principal matches decides; no match, the default action; no default, Deny."""
    authorization = policy["spec"]["authorization"]
    address = ipaddress.ip_address(client)
    for rule in authorization.get("rules", []):
        cidrs = rule["principal"].get("clientCIDRs", [])
        if any(address in ipaddress.ip_network(cidr) for cidr in cidrs):
            return rule["action"]
    return authorization.get("defaultAction", "Deny")


def test_the_security_policy_guards_the_route_and_allows_only_the_networks_given():
    kinds = _by_kind()
    policy, route = kinds["SecurityPolicy"], kinds["HTTPRoute"]
    assert policy["metadata"]["namespace"] == route["metadata"]["namespace"]
    [target] = policy["spec"]["targetRefs"]
    assert target == {
        "group": "gateway.networking.k8s.io",
        "kind": "HTTPRoute",
        "name": route["metadata"]["name"],
    }
    assert "sectionName" not in target  # the whole route, every rule of it
    assert policy["spec"]["authorization"]["defaultAction"] == "Deny"
    allowed = [c for r in policy["spec"]["authorization"]["rules"] for c in r["principal"]["clientCIDRs"]]
    assert allowed == [OFFICE, NAT]
    assert _verdict(policy, "203.0.113.200") == "Allow"
    assert _verdict(policy, "198.51.100.7") == "Allow"
    for outsider in ("198.51.100.8", "203.0.114.1", "10.0.0.5", "8.8.8.8", "2001:db8::1"):
        assert _verdict(policy, outsider) == "Deny", outsider


def test_the_client_address_is_the_one_the_load_balancer_saw_never_a_header_the_client_wrote():
    kinds = _by_kind()
    proxy, client_ip, gateway = kinds["EnvoyProxy"], kinds["ClientTrafficPolicy"], kinds["Gateway"]
    # The load balancer sends the PROXY header; Envoy refuses a connection without one.
    service = proxy["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["annotations"] == {G.PROXY_PROTOCOL_ANNOTATION: "*"}
    assert client_ip["spec"]["proxyProtocol"] == {"optional": False}
    assert "clientIPDetection" not in client_ip["spec"]  # no X-Forwarded-For hop is trusted
    [target] = client_ip["spec"]["targetRefs"]
    assert (target["kind"], target["name"]) == ("Gateway", gateway["metadata"]["name"])
    assert client_ip["metadata"]["namespace"] == gateway["metadata"]["namespace"]
    # That load balancer is the Gateway's own, and its security group admits the allow-list only.
    reference = gateway["spec"]["infrastructure"]["parametersRef"]
    assert (reference["kind"], reference["name"]) == ("EnvoyProxy", proxy["metadata"]["name"])
    assert proxy["metadata"]["namespace"] == gateway["metadata"]["namespace"]
    assert service["loadBalancerSourceRanges"] == [OFFICE, NAT]
    assert service["externalTrafficPolicy"] == "Local"


def test_policies_come_before_what_they_guard():
    order = [m["kind"] for m in G.registry_gateway_manifests(_ingress())]
    assert order.index("SecurityPolicy") < order.index("HTTPRoute")
    assert order.index("ClientTrafficPolicy") < order.index("Gateway")
    assert order.index("EnvoyProxy") < order.index("Gateway") and order.index("Certificate") < order.index(
        "Gateway"
    )
