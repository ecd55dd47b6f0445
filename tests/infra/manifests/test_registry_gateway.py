"""The registry's ingress as built: HTTPS only, the named issuer's certificate, MLflow's Service behind an
allow-list that Envoy enforces with the client's real address, a rate limit per client address, more than
one proxy kept up through a drain, and MLflow's user administration never forwarded. The walk-arounds
come first."""

from __future__ import annotations

import ipaddress
import re

import pytest
from pydantic import BaseModel, ConfigDict
from ruamel.yaml import YAML

from modelops.config import read_yaml, validate_file
from modelops.errors import InputError
from modelops.mlflow_admin_paths import ADMIN_PATH_PREFIXES, SELF_SERVICE_PATHS
from modelops_infra import layout as L
from modelops_infra.manifests import registry_gateway as G
from modelops_infra.manifests.network_policies import namespace_manifests
from modelops_infra.settings import RegistryIngressSettings, require_ingress_allow_list
from tests.infra.crd_checks import admission_problems
from tests.infra.mlflow_served_paths import served_paths

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


def _load(tmp_path, cidrs, **more) -> RegistryIngressSettings:
    path = tmp_path / "registry.yaml"
    section = {"hostname": HOST, "issuer": "letsencrypt-dns", "allowed_cidrs": cidrs, **more}
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


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"proxy_replicas": 1}, "registry_ingress.proxy_replicas"),  # a drain would cut MLflow off
        ({"proxy_replicas": 0}, "registry_ingress.proxy_replicas"),
        ({"client_rate_limit": {"requests": 0}}, "registry_ingress.client_rate_limit.requests"),
        ({"client_rate_limit": {"requests": 10_001}}, "registry_ingress.client_rate_limit.requests"),
        ({"client_rate_limit": {"requests": 2**32}}, "registry_ingress.client_rate_limit.requests"),
        ({"client_rate_limit": {"unit": "Hour"}}, "registry_ingress.client_rate_limit.unit"),
        ({"client_rate_limit": {"unit": "second"}}, "registry_ingress.client_rate_limit.unit"),
        ({"client_rate_limit": {"requests": 50, "per": "client"}}, "registry_ingress.client_rate_limit.per"),
        ({"client_rate_limit": None}, "registry_ingress.client_rate_limit"),  # no way to switch it off
    ],
)
def test_a_settings_file_with_one_proxy_or_no_usable_rate_limit_is_refused_naming_the_field(
    tmp_path, more, field
):
    with pytest.raises(InputError) as refused:
        _load(tmp_path, [OFFICE], **more)
    assert field in str(refused.value)


def test_proxies_and_rate_limit_have_defaults_and_take_what_the_file_says(tmp_path):
    default = _load(tmp_path, [OFFICE])
    assert (default.proxy_replicas, default.client_rate_limit.requests, default.client_rate_limit.unit) == (
        2,
        50,
        "Second",
    )
    chosen = _load(
        tmp_path, [OFFICE], proxy_replicas=3, client_rate_limit={"requests": 10_000, "unit": "Minute"}
    )
    assert (chosen.proxy_replicas, chosen.client_rate_limit.requests, chosen.client_rate_limit.unit) == (
        3,
        10_000,
        "Minute",
    )
    assert _load(tmp_path, [OFFICE], client_rate_limit={"requests": 1}).client_rate_limit.requests == 1


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
    # The newer objects: a budget with both bounds, a rate-limit selector selecting nothing or of an
    # unknown type, a direct response with no body, a spread without a key, a path action misspelt.
    proxy = kinds["EnvoyProxy"]
    kubernetes = ["spec", "provider", "kubernetes"]
    assert admission_problems(
        _replace(proxy, [*kubernetes, "envoyPDB"], {"maxUnavailable": 1, "minAvailable": 1})
    )
    [spread, _] = proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]["pod"][
        "topologySpreadConstraints"
    ]
    unkeyed = {k: v for k, v in spread.items() if k != "topologyKey"}
    pod = [*kubernetes, "envoyDeployment", "pod", "topologySpreadConstraints"]
    assert admission_problems(_replace(proxy, pod, [unkeyed]))
    limit = kinds["BackendTrafficPolicy"]
    selectors = ["spec", "rateLimit", "local", "rules"]
    [rule] = limit["spec"]["rateLimit"]["local"]["rules"]
    assert admission_problems(_replace(limit, selectors, [{**rule, "clientSelectors": [{}]}]))
    distinkt = [{"sourceCIDR": {"type": "Distinkt", "value": G.EVERY_CLIENT}}]
    assert admission_problems(_replace(limit, selectors, [{**rule, "clientSelectors": distinkt}]))
    assert admission_problems(
        _replace(limit, selectors, [{**rule, "limit": {"requests": 5, "unit": "Week"}}])
    )
    assert admission_problems(
        _replace(kinds["HTTPRouteFilter"], ["spec", "directResponse", "body"], {"type": "Inline"})
    )
    assert admission_problems(
        _replace(kinds["ClientTrafficPolicy"], ["spec", "path"], {"escapedSlashesAction": "Unescape"})
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


MLFLOW_BACKEND = {"group": "", "kind": "Service", "name": L.MLFLOW_APP, "port": L.MLFLOW_PORT}
HSTS_FILTER = {
    "type": "ResponseHeaderModifier",
    "responseHeaderModifier": {"set": [{"name": "Strict-Transport-Security", "value": "max-age=31536000"}]},
}


def test_the_route_sends_the_hostname_to_mlflows_service_and_port_on_the_https_listener():
    kinds = _by_kind()
    route, gateway = kinds["HTTPRoute"], kinds["Gateway"]
    assert route["metadata"]["namespace"] == L.MLFLOW_NAMESPACE
    assert route["spec"]["hostnames"] == [HOST]
    for rule in route["spec"]["rules"]:
        # Requests pass unmodified; every response, the admin rule's own 404 included, gains HSTS.
        assert rule["filters"][0] == HSTS_FILTER, rule["name"]
        # A rule forwards to MLflow's Service and port, or to nothing.
        assert rule.get("backendRefs", [MLFLOW_BACKEND]) == [MLFLOW_BACKEND], rule["name"]
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
        m["metadata"]["name"]: m["metadata"]["labels"] for m in namespace_manifests(L.ClusterRuns.registry())
    }
    admitted = [name for name, have in labels.items() if selector.items() <= have.items()]
    assert admitted == [L.MLFLOW_NAMESPACE]
    # The backend has no namespace of its own: the route's. A grant is needed only across namespaces.
    for rule in kinds["HTTPRoute"]["spec"]["rules"]:
        assert all("namespace" not in backend for backend in rule.get("backendRefs", []))


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
    assert order.index("BackendTrafficPolicy") < order.index("HTTPRoute")
    assert order.index("HTTPRouteFilter") < order.index("HTTPRoute")
    assert order.index("ClientTrafficPolicy") < order.index("Gateway")
    assert order.index("EnvoyProxy") < order.index("Gateway") and order.index("Certificate") < order.index(
        "Gateway"
    )


# --- more than one proxy, spread out, kept up through a drain ---


def test_the_proxies_are_several_spread_over_zones_and_nodes_and_drained_one_at_a_time():
    for replicas in (2, 3):
        proxy = _by_kind(_ingress(proxy_replicas=replicas))["EnvoyProxy"]
        kubernetes = proxy["spec"]["provider"]["kubernetes"]
        deployment = kubernetes["envoyDeployment"]
        assert deployment["replicas"] == replicas
        # One unavailable at a time: a drain leaves replicas - 1 >= 1 serving, and waits while one
        # is already down rather than take the last.
        assert kubernetes["envoyPDB"] == {"maxUnavailable": 1}
        assert replicas - kubernetes["envoyPDB"]["maxUnavailable"] >= 1
        spreads = {c["topologyKey"]: c for c in deployment["pod"]["topologySpreadConstraints"]}
        assert set(spreads) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        for spread in spreads.values():
            assert spread["maxSkew"] == 1
            assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
            assert spread["matchLabelKeys"] == ["pod-template-hash"]


def test_the_spread_counts_the_registry_proxies_and_no_others():
    """The selector is the registry Gateway's pod labels: the models Gateway's proxies, in the same
    namespace, must not count, or the registry's could all land in one zone beside them."""
    proxy = _by_kind()["EnvoyProxy"]
    spreads = proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]["pod"]["topologySpreadConstraints"]
    registry_pod = {**G.proxy_pod_labels(), "app.kubernetes.io/component": "proxy", "pod-template-hash": "x"}
    models_pod = {**registry_pod, G.OWNING_GATEWAY_NAME: L.GATEWAY_NAME}
    for spread in spreads:
        selector = spread["labelSelector"]["matchLabels"]
        assert selector.items() <= registry_pod.items()
        assert not selector.items() <= models_pod.items()


# --- a rate limit per client address ---


def test_each_client_address_has_its_own_bucket_of_the_configured_size_on_the_route():
    ingress = _ingress(client_rate_limit={"requests": 7, "unit": "Minute"})
    kinds = _by_kind(ingress)
    policy, route = kinds["BackendTrafficPolicy"], kinds["HTTPRoute"]
    assert policy["metadata"]["namespace"] == route["metadata"]["namespace"]
    [target] = policy["spec"]["targetRefs"]
    assert target == {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": G.ROUTE_NAME}
    limit = policy["spec"]["rateLimit"]
    assert set(limit) == {"local"}  # no Global: it needs a rate-limit service and a Redis
    [rule] = limit["local"]["rules"]
    assert rule["limit"] == {"requests": 7, "unit": "Minute"}
    # Every rule counts per address: a rule without a selector would be one bucket all clients share.
    [selector] = rule["clientSelectors"]
    assert selector == {"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}
    # ... and it covers every client the allow-list admits, so none goes uncounted.
    every = ipaddress.ip_network(selector["sourceCIDR"]["value"])
    assert all(ipaddress.ip_network(cidr).subnet_of(every) for cidr in ingress.allowed_cidrs)


def test_the_shared_registry_file_keeps_the_defaults_it_documents():
    from modelops_infra.settings import load_registry_settings
    from tests.conftest import REPO_ROOT

    ingress = load_registry_settings(root=REPO_ROOT).settings.registry_ingress
    assert ingress is not None
    assert ingress.proxy_replicas == RegistryIngressSettings.model_fields["proxy_replicas"].default
    assert ingress.client_rate_limit == type(ingress.client_rate_limit)()


# --- MLflow's administration: answered by the Gateway, never forwarded ---


def _under(path: str, prefix: str) -> bool:
    base = prefix.rstrip("/")
    return base == "" or path == base or path.startswith(base + "/")


def _rule_for(route: dict, path: str) -> dict:
    """The rule Envoy Gateway sends `path` to, by Gateway API's precedence: an Exact match first, then
    the PathPrefix with the most characters. A tie is refused: its winner is not the rules' to decide."""
    ranked = []
    for rule in route["spec"]["rules"]:
        for match in rule.get("matches", [{"path": {"type": "PathPrefix", "value": "/"}}]):
            kind, value = match["path"]["type"], match["path"]["value"]
            if (kind == "Exact" and path == value) or (kind == "PathPrefix" and _under(path, value)):
                ranked.append(((kind == "Exact", len(value.rstrip("/"))), rule["name"], rule))
    ranked.sort(key=lambda item: item[0], reverse=True)
    assert ranked, path
    assert len(ranked) == 1 or ranked[0][0] != ranked[1][0] or ranked[0][1] == ranked[1][1], path
    return ranked[0][2]


def _forwarded(route: dict, path: str) -> bool:
    return bool(_rule_for(route, path).get("backendRefs"))


def _concrete(rule: str) -> str:
    """A path a Flask rule serves: each `<converter:name>` filled in."""
    return re.sub(r"<[^>]+>", "x", rule)


def test_every_administration_path_mlflow_serves_is_answered_404_by_the_gateway():
    kinds = _by_kind()
    route, answer = kinds["HTTPRoute"], kinds["HTTPRouteFilter"]
    admin = [p for p in served_paths()["auth"] if p not in SELF_SERVICE_PATHS]
    assert len(admin) > 40  # users, roles, grants and signup, both API prefixes
    for path in admin:
        for variant in (path, path + "/", path + "/x"):
            rule = _rule_for(route, variant)
            assert "backendRefs" not in rule, variant
            [reference] = [f["extensionRef"] for f in rule["filters"] if f["type"] == "ExtensionRef"]
            assert (reference["kind"], reference["name"]) == ("HTTPRouteFilter", answer["metadata"]["name"])
    assert answer["metadata"]["namespace"] == route["metadata"]["namespace"]
    assert answer["spec"]["directResponse"]["statusCode"] == 404


def test_what_the_users_job_does_from_inside_is_among_them():
    """The in-cluster Job's calls (runtime/mlflow_users_apply.py) are among what the public address
    refuses: administration goes on from inside the cluster only."""
    from modelops_infra.runtime import mlflow_users_apply as job

    route = _by_kind()["HTTPRoute"]
    for path in (f"{job.USERS}/create", f"{job.USERS}/update-password", f"{job.USERS}/get"):
        assert not _forwarded(route, path), path
    for path in (f"{job.PERMISSIONS}/grant", f"{job.PERMISSIONS}/revoke"):
        assert not _forwarded(route, path), path


def test_every_other_path_mlflow_serves_is_forwarded_and_the_ui_still_knows_who_is_signed_in():
    route = _by_kind()["HTTPRoute"]
    served = served_paths()
    tracking = [_concrete(rule) for rule in served["tracking"]]
    assert len(tracking) > 200 and "/api/2.0/mlflow/registered-models/get" in tracking
    for path in tracking:
        assert _forwarded(route, path), path
    for path in ("/", "/static-files/x", "/ajax-api/2.0/mlflow/experiments/search", "/health", "/version"):
        assert _forwarded(route, path), path
    # The self-service paths are MLflow's own and reach it.
    assert set(SELF_SERVICE_PATHS) <= set(served["auth"])
    for path in SELF_SERVICE_PATHS:
        assert _forwarded(route, path), path
        assert not _forwarded(route, path + "/x"), path


def test_the_admin_prefixes_take_nothing_else_and_miss_nothing_of_the_auth_app():
    served = served_paths()
    for rule in served["tracking"]:
        assert not any(_under(_concrete(rule), prefix) for prefix in ADMIN_PATH_PREFIXES), rule
    for path in served["auth"]:
        assert path in SELF_SERVICE_PATHS or any(_under(path, prefix) for prefix in ADMIN_PATH_PREFIXES), path


def test_requests_are_normalised_before_the_admin_rule_judges_them():
    """`//`, dot segments and `%2F` would otherwise route past the admin prefixes to an MLflow that reads
    them as the admin path: Envoy merges, resolves and redirects them first."""
    path = _by_kind()["ClientTrafficPolicy"]["spec"]["path"]
    assert path == {"escapedSlashesAction": "UnescapeAndRedirect", "disableMergeSlashes": False}
