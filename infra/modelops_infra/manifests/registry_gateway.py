"""The registry's public ingress, as plain manifests: MLflow over TLS, to allow-listed clients only.

Objects (Envoy Gateway v1.7, Gateway API v1.4, cert-manager v1.18; fields checked against their CRDs):
- `EnvoyProxy` `registry-proxy`: the Gateway's own load balancer. On EKS without the AWS Load Balancer
  Controller, a `LoadBalancer` Service gets a Classic Load Balancer from the cloud controller, in TCP
  mode (TLS ends at Envoy, with cert-manager's certificate). Its security group admits the
  allow-list only (`loadBalancerSourceRanges`), and it sends the PROXY protocol header (v1) with the
  client's address.
- `ClientTrafficPolicy` `registry-client-ip`: Envoy requires that header on every connection and takes
  the client address from it. Not X-Forwarded-For: a TCP load balancer writes no such header, so one
  arriving at Envoy is whatever the client chose, and trusting any hop of it would let a client claim
  an allowed address. A connection without the header (a pod calling the proxy directly) is closed.
- `Certificate` `registry-tls`: from the issuer the settings name, into the Secret the listener uses.
- `Gateway` `registry`: one listener, HTTPS on 443 for the hostname, that admits HTTPRoutes from the
  mlflow namespace only. No plain HTTP listener, not even a redirect: MLflow's clients send a basic-auth
  password with every request, and a redirect would only come after the password crossed in clear.
- `HTTPRoute` `mlflow` (namespace mlflow, beside the Service): the hostname to MLflow's Service and
  port. Route and Service share a namespace, so no ReferenceGrant is needed; the Gateway's
  `allowedRoutes` is its side of the cross-namespace attachment.
- `SecurityPolicy` `mlflow-allow-list`, targeting that route: default Deny, one Allow rule for the
  configured client networks. A route-level policy is the most specific one Envoy Gateway applies,
  so no Gateway-level policy can loosen it.
People then authenticate to MLflow itself (`--app-name basic-auth`); the Gateway adds no login. MLflow
must also answer to the hostname: `public_allowed_hosts()` joins its `--allowed-hosts`, and
`public_allowed_origins()` is its `--cors-allowed-origins`, without which its UI could read but not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelops_infra import layout as L
from modelops_infra.settings import RegistryIngressSettings

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


def envoy_proxy(allowed_cidrs: Sequence[str]) -> Manifest:
    return {
        "apiVersion": ENVOY_GATEWAY_API,
        "kind": "EnvoyProxy",
        "metadata": _metadata(PROXY_CONFIG_NAME, L.GATEWAY_NAMESPACE),
        "spec": {
            "provider": {
                "type": "Kubernetes",
                "kubernetes": {
                    "envoyService": {
                        "type": "LoadBalancer",
                        # Local: the load balancer's connection reaches the pod unmasqueraded, so the
                        # network policy can admit the load balancer's subnets and nothing else.
                        "externalTrafficPolicy": "Local",
                        "loadBalancerSourceRanges": list(allowed_cidrs),
                        "annotations": {PROXY_PROTOCOL_ANNOTATION: "*"},
                    }
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


def route(hostname: str) -> Manifest:
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
                    "backendRefs": [
                        {"group": "", "kind": "Service", "name": L.MLFLOW_APP, "port": L.MLFLOW_PORT}
                    ],
                    # A browser that has been here once never tries the name over plain HTTP, where a
                    # look-alike could collect the basic-auth password it would send.
                    "filters": [
                        {
                            "type": "ResponseHeaderModifier",
                            "responseHeaderModifier": {
                                "set": [{"name": "Strict-Transport-Security", "value": HSTS}]
                            },
                        }
                    ],
                }
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


def registry_gateway_manifests(ingress: RegistryIngressSettings) -> list[Manifest]:
    """Every object of the registry's ingress, in the order they are to be applied.

    Policies before what they target: Envoy Gateway accepts a policy whose target does not exist yet
    and applies it when the target appears, so the route never serves a request without its
    allow-list, and the listener never takes a connection without the PROXY header rule.

    Takes the validated settings, not loose strings: only an allow-list `RegistryIngressSettings`
    accepted (never empty, never the internet) reaches the load balancer and the policy.
    """
    return [
        envoy_proxy(ingress.allowed_cidrs),
        certificate(ingress.hostname, issuer=ingress.issuer, issuer_kind=ingress.issuer_kind),
        client_ip_policy(),
        allow_list_policy(ingress.allowed_cidrs),
        gateway(ingress.hostname),
        route(ingress.hostname),
    ]
