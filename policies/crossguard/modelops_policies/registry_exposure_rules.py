"""MLflow is reached from outside its cluster over TLS, by allow-listed clients only.

Four rules:
- `security_policy_allow_list_narrow` (resource level): no Envoy Gateway SecurityPolicy allows a
  client range that is not an allow-list (`0.0.0.0/0`, `::/0`, anything wider than the shared rule in
  `modelops.allow_lists` admits).
- `mlflow_routes_use_tls` and `mlflow_routes_allow_listed` (stack level: a route, the Gateway it
  attaches to and the policy that guards it are separate resources). For every route whose backend is
  MLflow's Service:
  * it is an HTTPRoute (a TCP, TLS-passthrough or gRPC route would bypass the HTTP allow-list), and
    every listener it can attach to (its parentRef's sectionName and port, else every listener) of
    a Gateway declared in the same stack is HTTPS, terminating TLS with a certificate. A parent the
    rule cannot see is a violation: it cannot show that listener uses TLS (fails closed).
  * it is guarded: a SecurityPolicy targets the route (or the Gateway it attaches to) as a whole, and
    every SecurityPolicy that may apply to it is an allow-list: an explicit default Deny, and only
    Allow rules that name client networks. "May apply" counts the route-rule, route, listener and
    Gateway levels, because Envoy Gateway lets the most specific policy replace the others, and any
    policy in those namespaces that picks its targets by label (`targetSelectors`), which the rule
    cannot resolve.
- `mlflow_admin_not_public` (stack level): no route to MLflow forwards its user administration (the
  paths of `modelops.mlflow_admin_paths`, judged by Gateway API's matching precedence there): each route
  that covers them with a broad match must also hold a rule that matches them more specifically and
  forwards to no MLflow. Judged per route: a denying rule in another route on the same listener is not
  counted, though Envoy Gateway would merge them (fails closed).
The route's backend is recognised by name: Service `mlflow` in namespace `mlflow` (a backendRef
without a namespace is in the route's own). A route to MLflow under another Service name, or through
an Envoy Gateway `Backend` naming its address, is not recognised; the platform creates neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from modelops.allow_lists import allow_list_problems
from modelops.mlflow_admin_paths import admin_paths_forwarded

# MLflow's Service (infra: layout.MLFLOW_APP, layout.MLFLOW_NAMESPACE).
MLFLOW_SERVICE = "mlflow"
MLFLOW_NAMESPACE = "mlflow"
GATEWAY_GROUP = "gateway.networking.k8s.io"
SECURITY_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy"
_GATEWAY_API_TYPE = re.compile(r"^kubernetes:gateway\.networking\.k8s\.io/[^:]+:(?P<kind>\w+)$")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _meta(props: Mapping[str, Any]) -> tuple[str, str]:
    metadata = _mapping(props.get("metadata"))
    return str(metadata.get("namespace") or "default"), str(metadata.get("name") or "")


def _gateway_api_kind(resource_type: str) -> str | None:
    match = _GATEWAY_API_TYPE.match(resource_type)
    return match["kind"] if match else None


# --- what an allow-list is ---


def allow_list_policy_problems(props: Mapping[str, Any]) -> list[str]:
    """Why a SecurityPolicy is not an allow-list: default Deny written out, Allow rules by client network."""
    authorization = _mapping(_mapping(props.get("spec")).get("authorization"))
    if not authorization:
        return ["it has no authorization section"]
    problems = []
    if authorization.get("defaultAction") != "Deny":
        problems.append("its authorization.defaultAction is not Deny")
    rules = [_mapping(rule) for rule in _list(authorization.get("rules"))]
    allows = [rule for rule in rules if rule.get("action") == "Allow"]
    if not allows:
        problems.append("it has no Allow rule naming client networks")
    for rule in allows:
        cidrs = _list(_mapping(rule.get("principal")).get("clientCIDRs"))
        if not cidrs:
            problems.append(f"its Allow rule {rule.get('name', '(unnamed)')} names no clientCIDRs")
        else:
            problems.extend(allow_list_problems(cidrs))
    return problems


def security_policy_allow_list_narrow(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SECURITY_POLICY:
        return
    authorization = _mapping(_mapping(args.props.get("spec")).get("authorization"))
    for rule in (_mapping(r) for r in _list(authorization.get("rules"))):
        cidrs = _list(_mapping(rule.get("principal")).get("clientCIDRs"))
        if rule.get("action") == "Allow" and cidrs:
            for problem in allow_list_problems(cidrs):
                report(f"SecurityPolicy allows clients by a range that is no allow-list: {problem}.", None)


# --- routes to MLflow ---


def _backend_refs(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every backend a route sends to, mirrors included (a mirror receives the request too)."""
    for rule in (_mapping(r) for r in _list(spec.get("rules"))):
        filters = [_mapping(f) for f in _list(rule.get("filters"))]
        for backend in (_mapping(b) for b in _list(rule.get("backendRefs"))):
            yield backend
            filters += [_mapping(f) for f in _list(backend.get("filters"))]
        for mirror in filters:
            yield _mapping(_mapping(mirror.get("requestMirror")).get("backendRef"))


def _is_mlflow(backend: Mapping[str, Any], route_namespace: str) -> bool:
    return (
        backend.get("group") in (None, "")
        and backend.get("kind") in (None, "Service")
        and backend.get("name") == MLFLOW_SERVICE
        and (backend.get("namespace") or route_namespace) == MLFLOW_NAMESPACE
    )


def _mlflow_routes(args: StackValidationArgs) -> Iterator[tuple[PolicyResource, str]]:
    for resource in args.resources:
        kind = _gateway_api_kind(resource.resource_type)
        if kind not in ROUTE_KINDS:
            continue
        namespace, _ = _meta(resource.props)
        spec = _mapping(resource.props.get("spec"))
        if any(_is_mlflow(backend, namespace) for backend in _backend_refs(spec)):
            yield resource, str(kind)


def _parents(route: PolicyResource) -> Iterator[tuple[Mapping[str, Any], str, str]]:
    """(parentRef, namespace, name) of each Gateway-or-other parent the route names."""
    namespace, _ = _meta(route.props)
    for parent in (_mapping(p) for p in _list(_mapping(route.props.get("spec")).get("parentRefs"))):
        yield parent, str(parent.get("namespace") or namespace), str(parent.get("name") or "")


def _gateways(args: StackValidationArgs) -> dict[tuple[str, str], PolicyResource]:
    return {_meta(r.props): r for r in args.resources if _gateway_api_kind(r.resource_type) == "Gateway"}


def _terminates_tls(listener: Mapping[str, Any]) -> bool:
    tls = _mapping(listener.get("tls"))
    return (
        listener.get("protocol") == "HTTPS"
        and tls.get("mode", "Terminate") == "Terminate"
        and bool(_list(tls.get("certificateRefs")))
    )


def mlflow_routes_use_tls(args: StackValidationArgs, report: ReportViolation) -> None:
    gateways = _gateways(args)
    for route, kind in _mlflow_routes(args):
        route_name = "/".join(_meta(route.props))
        if kind != "HTTPRoute":
            report(f"{kind} {route_name} reaches MLflow: only an HTTPRoute over HTTPS may.", route.urn)
            continue
        for parent, namespace, name in _parents(route):
            if (
                parent.get("kind", "Gateway") != "Gateway"
                or parent.get("group", GATEWAY_GROUP) != GATEWAY_GROUP
            ):
                report(
                    f"HTTPRoute {route_name} to MLflow attaches to a {parent.get('kind')}: use a Gateway.",
                    route.urn,
                )
                continue
            gateway = gateways.get((namespace, name))
            if gateway is None:
                report(
                    f"HTTPRoute {route_name} to MLflow attaches to Gateway {namespace}/{name}, which this "
                    "stack does not declare: its listeners cannot be shown to use TLS.",
                    route.urn,
                )
                continue
            listeners = [
                _mapping(item) for item in _list(_mapping(gateway.props.get("spec")).get("listeners"))
            ]
            reachable = [
                listener
                for listener in listeners
                if parent.get("sectionName") in (None, listener.get("name"))
                and parent.get("port") in (None, listener.get("port"))
            ]
            for listener in reachable:
                if not _terminates_tls(listener):
                    report(
                        f"Gateway {namespace}/{name} listener {listener.get('name')} "
                        f"({listener.get('protocol')}) exposes HTTPRoute {route_name} to MLflow without "
                        "terminating TLS with a certificate.",
                        gateway.urn,
                    )


def _targets(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = _mapping(props.get("spec"))
    return [_mapping(t) for t in [spec.get("targetRef"), *_list(spec.get("targetRefs"))] if t]


def mlflow_routes_allow_listed(args: StackValidationArgs, report: ReportViolation) -> None:
    policies = [r for r in args.resources if r.resource_type == SECURITY_POLICY]
    for route, kind in _mlflow_routes(args):
        if kind != "HTTPRoute":
            continue  # refused by mlflow_routes_use_tls
        route_namespace, route_name = _meta(route.props)
        gateways = {(ns, name) for parent, ns, name in _parents(route)}
        namespaces = {route_namespace, *(ns for ns, _ in gateways)}
        applicable, whole = [], []
        for policy in policies:
            namespace, _ = _meta(policy.props)
            for target in _targets(policy.props):
                on_route = target.get("kind") == "HTTPRoute" and namespace == route_namespace
                on_gateway = target.get("kind") == "Gateway" and (namespace, target.get("name")) in gateways
                if (on_route and target.get("name") == route_name) or on_gateway:
                    applicable.append(policy)
                    if target.get("sectionName") is None:
                        whole.append(policy)
            if namespace in namespaces and _list(_mapping(policy.props.get("spec")).get("targetSelectors")):
                applicable.append(policy)
        where = f"HTTPRoute {route_namespace}/{route_name} to MLflow"
        if not whole:
            report(f"{where} has no SecurityPolicy allow-list targeting it (or its Gateway).", route.urn)
        for policy in dict.fromkeys(applicable):
            for problem in allow_list_policy_problems(policy.props):
                report(
                    f"SecurityPolicy {'/'.join(_meta(policy.props))} applies to {where}, but {problem}.",
                    policy.urn,
                )


def mlflow_admin_not_public(args: StackValidationArgs, report: ReportViolation) -> None:
    for route, _ in _mlflow_routes(args):
        namespace, name = _meta(route.props)

        def forwards(rule: Mapping[str, Any], namespace: str = namespace) -> bool:
            return any(_is_mlflow(backend, namespace) for backend in _backend_refs({"rules": [rule]}))

        rules = _list(_mapping(route.props.get("spec")).get("rules"))
        for problem in admin_paths_forwarded(rules, forwards=forwards):
            report(f"Route {namespace}/{name} to MLflow: {problem}.", route.urn)
