"""The registry's public ingress, as plain manifests: MLflow over TLS, to allow-listed clients only.

Objects (Envoy Gateway v1.7, Gateway API v1.4, cert-manager v1.18; fields checked against their CRDs):
- `EnvoyProxy` `registry-proxy`: the Gateway's own load balancer and proxies. On EKS without the AWS Load
  Balancer Controller, a `LoadBalancer` Service gets a Classic Load Balancer from the cloud controller, in
  TCP mode (TLS ends at Envoy, with cert-manager's certificate). Its security group admits the
  allow-list only (`loadBalancerSourceRanges`), and it sends the PROXY protocol header (v1) with the
  client's address. `proxy_replicas` Envoy pods (two at least), spread evenly over zones and at most
  one per node while nodes allow (`ScheduleAnyway` for both: a zone short of room must not leave a
  proxy pending), and a PodDisruptionBudget of one unavailable pod, so a node drain or a zone's loss
  leaves a proxy serving.
- `ClientTrafficPolicy` `registry-client-ip`: Envoy requires that header on every connection and takes
  the client address from it. Not X-Forwarded-For: a TCP load balancer writes no such header, so one
  arriving at Envoy is whatever the client chose, and trusting any hop of it would let a client claim
  an allowed address. A connection without the header (a pod calling the proxy directly) is closed.
  Request paths are normalised before routing (dot segments, merged slashes, an escaped slash answered
  with a redirect to the unescaped path), written out because the route's admin rule matches on them.
- `Certificate` `registry-tls`: from the issuer the settings name, into the Secret the listener uses.
- `Gateway` `registry`: one listener, HTTPS on 443 for the hostname, that admits HTTPRoutes from the
  mlflow namespace only. No plain HTTP listener, not even a redirect: MLflow's clients send a basic-auth
  password with every request, and a redirect would only come after the password crossed in clear.
- `HTTPRoute` `mlflow` (namespace mlflow, beside the Service): the hostname to MLflow's Service and
  port, except MLflow's administration (`modelops.mlflow_admin_paths`: creating, changing and deleting
  users, their passwords, admin flags, roles and grants, and `/signup`), which the `mlflow-admin` rule
  answers 404 itself through the `HTTPRouteFilter` `mlflow-admin-not-here`. The signed-in person's
  own identity and permissions, which MLflow's UI reads, are forwarded by exact path. Administration
  stays with the in-cluster users Job (components/registry_users.py), which calls MLflow's Service
  directly. Route and Service share a namespace, so no ReferenceGrant is needed; the Gateway's
  `allowedRoutes` is its side of the cross-namespace attachment.
- `SecurityPolicy` `mlflow-allow-list`, targeting that route: default Deny, one Allow rule for the
  configured client networks. A route-level policy is the most specific one Envoy Gateway applies,
  so no Gateway-level policy can loosen it.
- `BackendTrafficPolicy` `mlflow-client-rate-limit`, targeting that route: Envoy's local rate limit,
  a bucket per client address (`sourceCIDR` `0.0.0.0/0`, type `Distinct`: every address its own
  counter), `client_rate_limit` requests per unit, answered 429 beyond it. Local, not Global: Global
  needs a rate-limit service and a Redis beside Envoy Gateway; local counts at each proxy, so a client
  gets up to `proxy_replicas` times the limit. Envoy Gateway has supported `Distinct` in local limits
  since v1.4 (`internal/xds/translator/local_ratelimit.go` at v1.7.4, and its e2e test
  `local_ratelimit_distinct_cidr.go`), whatever the task page's older note says. Local limits cannot
  count 401s alone (a response cost is Global only), so a password guesser is bounded by the same
  per-address rate as everyone, behind the allow-list.
People then authenticate to MLflow itself (`--app-name basic-auth`); the Gateway adds no login. MLflow
must also answer to the hostname: `public_allowed_hosts()` joins its `--allowed-hosts`, and
`public_allowed_origins()` is its `--cors-allowed-origins`, without which its UI could read but not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelops.mlflow_admin_paths import ADMIN_PATH_PREFIXES, SELF_SERVICE_PATHS
from modelops_infra import layout as L
from modelops_infra.settings import ClientRateLimit, RegistryIngressSettings

Manifest = dict[str, Any]

GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1"
CERT_MANAGER_API = "cert-manager.io/v1"

GATEWAY_CLASS = L.GATEWAY_CLASS  # the class components/ingress.py installs
REGISTRY_GATEWAY_NAME = "registry"
LISTENER_NAME = "https"
PROXY_CONFIG_NAME = "registry-proxy"
CLIENT_IP_POLICY_NAME = "registry-client-ip"
TLS_SECRET_NAME = "registry-tls"
ROUTE_NAME = "mlflow"
ALLOW_LIST_POLICY_NAME = "mlflow-allow-list"
RATE_LIMIT_POLICY_NAME = "mlflow-client-rate-limit"
ADMIN_FILTER_NAME = "mlflow-admin-not-here"
# The route's rules, by name (Gateway API v1.4 rule names; policies could target one as a section).
ADMIN_RULE, SELF_SERVICE_RULE, MLFLOW_RULE = "mlflow-admin", "mlflow-self-service", "mlflow"
# Every IPv4 address, each its own rate-limit bucket (the clients are IPv4: RegistryIngressSettings).
EVERY_CLIENT = "0.0.0.0/0"
ZONE_LABEL, NODE_LABEL = "topology.kubernetes.io/zone", "kubernetes.io/hostname"
# Envoy Gateway shifts a listener port under 1024 by 10000 for its unprivileged proxy container.
GATEWAY_HTTPS_PROXY_PORT = L.HTTPS_PORT + 10000
# The labels Envoy Gateway puts on the proxy pods it runs for a Gateway (in its own namespace).
OWNING_GATEWAY_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNING_GATEWAY_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"
# The EKS cloud controller's Service annotation for a Classic Load Balancer's PROXY protocol (v1).
PROXY_PROTOCOL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol"
HSTS = "max-age=31536000"  # a year; the name is never served over plain HTTP


def proxy_pod_labels() -> dict[str, str]:
    """The labels of the registry Gateway's Envoy pods, as network policies select them."""
    return {OWNING_GATEWAY_NAME: REGISTRY_GATEWAY_NAME, OWNING_GATEWAY_NAMESPACE: L.GATEWAY_NAMESPACE}


def public_allowed_hosts(hostname: str) -> list[str]:
    """Host headers MLflow must also answer to once it is reached at `hostname` (its `--allowed-hosts`
    compares exactly: clients send the name alone on 443, some add the port)."""
    return [hostname, f"{hostname}:{L.HTTPS_PORT}"]


def public_allowed_origins(hostname: str) -> list[str]:
    """The browser origin MLflow's `--cors-allowed-origins` must list once its UI is served at `hostname`:
    a browser sends `Origin` with every POST, same-origin included, and MLflow refuses a state-changing
    API call from an origin it does not list (only localhost is listed by default)."""
    return [f"https://{hostname}"]


def _metadata(name: str, namespace: str) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "modelops"}}


def _spread(topology_key: str) -> Manifest:
    return {
        "maxSkew": 1,
        "topologyKey": topology_key,
        # Preferred, not required: with a zone or node short of room, a proxy runs unevenly placed
        # rather than not at all, which is the outage the spread is there to prevent.
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": proxy_pod_labels()},
        # Counted within one rollout's pods: the old ReplicaSet's, on their way out, skew nothing.
        "matchLabelKeys": ["pod-template-hash"],
    }


def envoy_proxy(allowed_cidrs: Sequence[str], *, replicas: int) -> Manifest:
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "EnvoyProxy",
        "metadata": _metadata(PROXY_CONFIG_NAME, L.GATEWAY_NAMESPACE),
        "spec": {
            "provider": {
                "type": "Kubernetes",
                "kubernetes": {
                    "envoyDeployment": {
                        "replicas": replicas,
                        "pod": {"topologySpreadConstraints": [_spread(ZONE_LABEL), _spread(NODE_LABEL)]},
                    },
                    # A drain evicts one proxy at a time, and waits while one is already down.
                    "envoyPDB": {"maxUnavailable": 1},
                    "envoyService": {
                        "type": "LoadBalancer",
                        # Local: the load balancer's connection reaches the pod unmasqueraded, so the
                        # network policy can admit the load balancer's subnets and nothing else.
                        "externalTrafficPolicy": "Local",
                        "loadBalancerSourceRanges": list(allowed_cidrs),
                        "annotations": {PROXY_PROTOCOL_ANNOTATION: "*"},
                    },
                },
            }
        },
    }


def client_ip_policy() -> Manifest:
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "ClientTrafficPolicy",
        "metadata": _metadata(CLIENT_IP_POLICY_NAME, L.GATEWAY_NAMESPACE),
        "spec": {
            "targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": REGISTRY_GATEWAY_NAME}
            ],
            # optional: false is also the default; written out because accepting connections without
            # the header would let a client that reaches the proxy directly choose its address.
            "proxyProtocol": {"optional": False},
            "tls": {"minVersion": "1.2"},
            # Envoy Gateway's defaults, written out because the route's admin rule depends on them:
            # `/api/2.0/mlflow//users/create` or `%2F` for a slash must not route past it to an MLflow
            # that would read them as the admin path (uvicorn decodes `%2F` before Flask routes).
            "path": {"escapedSlashesAction": "UnescapeAndRedirect", "disableMergeSlashes": False},
        },
    }


def certificate(hostname: str, *, issuer: str, issuer_kind: str) -> Manifest:
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "Certificate",
        "metadata": _metadata(TLS_SECRET_NAME, L.GATEWAY_NAMESPACE),
        "spec": {
            "secretName": TLS_SECRET_NAME,
            "dnsNames": [hostname],
            "issuerRef": {"group": "cert-manager.io", "kind": issuer_kind, "name": issuer},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }


def gateway(hostname: str) -> Manifest:
    return {
        "apiVersion": GATEWAY_API,
        "kind": "Gateway",
        "metadata": _metadata(REGISTRY_GATEWAY_NAME, L.GATEWAY_NAMESPACE),
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "infrastructure": {
                "parametersRef": {
                    "group": "gateway.envoyproxy.io",
                    "kind": "EnvoyProxy",
                    "name": PROXY_CONFIG_NAME,
                }
            },
            "listeners": [
                {
                    "name": LISTENER_NAME,
                    "protocol": "HTTPS",
                    "port": L.HTTPS_PORT,
                    "hostname": hostname,
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"group": "", "kind": "Secret", "name": TLS_SECRET_NAME}],
                    },
                    "allowedRoutes": {
                        "namespaces": {
                            "from": "Selector",
                            "selector": {"matchLabels": {"kubernetes.io/metadata.name": L.MLFLOW_NAMESPACE}},
                        },
                        "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                    },
                }
            ],
        },
    }


def admin_filter() -> Manifest:
    """What the route answers for MLflow's administration, itself: not found, here."""
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "HTTPRouteFilter",
        "metadata": _metadata(ADMIN_FILTER_NAME, L.MLFLOW_NAMESPACE),
        "spec": {
            "directResponse": {
                "statusCode": 404,
                "contentType": "text/plain",
                "body": {
                    "type": "Inline",
                    "inline": "MLflow's user administration is not served at this address.\n",
                },
            }
        },
    }


def _hsts() -> Manifest:
    # A browser that has been here once never tries the name over plain HTTP, where a look-alike
    # could collect the basic-auth password it would send.
    return {
        "type": "ResponseHeaderModifier",
        "responseHeaderModifier": {"set": [{"name": "Strict-Transport-Security", "value": HSTS}]},
    }


def _to_mlflow() -> list[Manifest]:
    return [{"group": "", "kind": "Service", "name": L.MLFLOW_APP, "port": L.MLFLOW_PORT}]


def route(hostname: str) -> Manifest:
    """MLflow at `hostname`, its administration excepted: Gateway API picks an Exact path first, then
    the longest PathPrefix, so the admin prefixes outrank `/` and the self-service paths outrank them."""
    return {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": _metadata(ROUTE_NAME, L.MLFLOW_NAMESPACE),
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": REGISTRY_GATEWAY_NAME,
                    "namespace": L.GATEWAY_NAMESPACE,
                    "sectionName": LISTENER_NAME,
                }
            ],
            "hostnames": [hostname],
            "rules": [
                {
                    "name": ADMIN_RULE,
                    "matches": [{"path": {"type": "PathPrefix", "value": p}} for p in ADMIN_PATH_PREFIXES],
                    # No backend: answered by the filter, never forwarded.
                    "filters": [
                        _hsts(),
                        {
                            "type": "ExtensionRef",
                            "extensionRef": {
                                "group": "gateway.envoyproxy.io",
                                "kind": "HTTPRouteFilter",
                                "name": ADMIN_FILTER_NAME,
                            },
                        },
                    ],
                },
                {
                    "name": SELF_SERVICE_RULE,
                    "matches": [{"path": {"type": "Exact", "value": p}} for p in SELF_SERVICE_PATHS],
                    "backendRefs": _to_mlflow(),
                    "filters": [_hsts()],
                },
                {
                    "name": MLFLOW_RULE,
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": _to_mlflow(),
                    "filters": [_hsts()],
                },
            ],
        },
    }


def allow_list_policy(allowed_cidrs: Sequence[str]) -> Manifest:
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "SecurityPolicy",
        "metadata": _metadata(ALLOW_LIST_POLICY_NAME, L.MLFLOW_NAMESPACE),
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": ROUTE_NAME}],
            "authorization": {
                "defaultAction": "Deny",
                "rules": [
                    {
                        "name": "allow-listed-clients",
                        "action": "Allow",
                        "principal": {"clientCIDRs": list(allowed_cidrs)},
                    }
                ],
            },
        },
    }


def rate_limit_policy(limit: ClientRateLimit) -> Manifest:
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "BackendTrafficPolicy",
        "metadata": _metadata(RATE_LIMIT_POLICY_NAME, L.MLFLOW_NAMESPACE),
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": ROUTE_NAME}],
            "rateLimit": {
                "local": {
                    "rules": [
                        {
                            # One rule, with a selector: a rule without one would be a single bucket
                            # that every client shares, and one client could spend it for all.
                            "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": EVERY_CLIENT}}],
                            "limit": {"requests": limit.requests, "unit": limit.unit},
                        }
                    ]
                }
            },
        },
    }


def registry_gateway_manifests(ingress: RegistryIngressSettings) -> list[Manifest]:
    """Every object of the registry's ingress, in the order they are to be applied.

    Policies before what they target: Envoy Gateway accepts a policy whose target does not exist yet
    and applies it when the target appears, so the route never serves a request without its
    allow-list or rate limit, and the listener never takes a connection without the PROXY header rule.
    The admin rule's filter before the route too, so its rule never points at a missing filter.

    Takes the validated settings, not loose strings: only an allow-list `RegistryIngressSettings`
    accepted (never empty, never the internet) reaches the load balancer and the policy.
    """
    return [
        envoy_proxy(ingress.allowed_cidrs, replicas=ingress.proxy_replicas),
        certificate(ingress.hostname, issuer=ingress.issuer, issuer_kind=ingress.issuer_kind),
        client_ip_policy(),
        allow_list_policy(ingress.allowed_cidrs),
        rate_limit_policy(ingress.client_rate_limit),
        admin_filter(),
        gateway(ingress.hostname),
        route(ingress.hostname),
    ]
