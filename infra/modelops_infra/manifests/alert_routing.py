"""Alertmanager routes for the alerts that open pull requests, and the relay that sends them.

Two alerts act on their own: drift asks for a retrain (`model-drift`), a failing candidate for its
rollback (`model-rollback`). Alertmanager routes exactly those to the `github-dispatch` webhook, the
relay in runtime/dispatch_relay.py turns them into GitHub dispatch events, and
everything else keeps kube-prometheus-stack's defaults (the `null` receiver, the Watchdog route).

Pure data, like network_policies: the Monitoring component declares these manifests and the tests read them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops_infra import layout as L
from modelops_infra.manifests.workloads import (
    IMAGE_DIGEST_SKIP,
    checkov_skips,
    container_security_context,
    pod_security_context,
    resources,
)
from modelops_infra.runtime import dispatch_relay

Manifest = dict[str, Any]

RELAY_APP = "modelops-dispatch-relay"
RELAY_PORT = 8080
RELAY_SCRIPT = Path(dispatch_relay.__file__)
RELAY_IMAGE = "docker.io/library/python:3.12.12-slim-bookworm"
# Created out of band by the platform team, never by the stack (its value must not enter state):
# a fine-grained token for this one repository with Contents: read and write.
TOKEN_SECRET = "github-dispatch-token"
TOKEN_KEY = "token"
RECEIVER = "github-dispatch"
NULL_RECEIVER = "null"
# prometheus-operator's selector labels on the pods of the chart's Alertmanager (release
# `kube-prometheus-stack`, so the Alertmanager object is `kube-prometheus-stack-alertmanager`).
ALERTMANAGER_PODS = {
    "app.kubernetes.io/name": "alertmanager",
    "alertmanager": "kube-prometheus-stack-alertmanager",
}

# Drift: one notification per model, whichever columns drift. The alert has held for 30m; 5m more
# collects the columns one scoring pass flags. Then nothing for 72h, neither for a column that joins
# the group (group_interval) nor as a reminder (repeat_interval): long enough for the retrain's
# pull request to be reviewed and promoted before another is proposed, and below Alertmanager's
# 120h notification-log retention, past which it would forget it had notified.
DRIFT_TIMING = {"group_wait": "5m", "group_interval": "72h", "repeat_interval": "72h"}
# A failing candidate: act soon after its 10m `for`, retry a failed notification every 5m, and
# propose the rollback again after 12h if the first pull request was neither merged nor closed.
ROLLBACK_TIMING = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "12h"}


@dataclass(frozen=True)
class DispatchTarget:
    """Where this stack's alerts become dispatch events: `owner/name` and the environment's name."""

    repository: str
    environment: str


def relay_url() -> str:
    return f"http://{RELAY_APP}.{L.MONITORING_NAMESPACE}.svc:{RELAY_PORT}/alerts"


def alertmanager_config(models_namespace: str) -> dict[str, Any]:
    """The chart's `alertmanager.config` keys this platform sets; Helm merges the rest from defaults.

    Helm merges maps key by key but replaces lists, so `routes` and `receivers` restate the chart's
    own entries (the Watchdog route, the `null` receiver) beside the dispatch ones. The dispatch
    routes `continue`: a pager route added after them still sees the same alerts.
    """
    ours = f'namespace="{models_namespace}"'
    drift = [f'alertname="{dispatch_relay.DRIFT_ALERT}"', ours]
    candidate = [
        f'alertname="{dispatch_relay.ERROR_RATE_ALERT}"',
        f'{dispatch_relay.RELEASE_LABEL}="{dispatch_relay.CANDIDATE_RELEASE}"',
        ours,
    ]
    by_model = ["alertname", "namespace", dispatch_relay.MODEL_LABEL]
    return {
        "route": {
            "receiver": NULL_RECEIVER,
            "routes": [
                {"receiver": NULL_RECEIVER, "matchers": ['alertname="Watchdog"']},
                {
                    "receiver": RECEIVER,
                    "matchers": drift,
                    "group_by": by_model,
                    "continue": True,
                    **DRIFT_TIMING,
                },
                {
                    "receiver": RECEIVER,
                    "matchers": candidate,
                    "group_by": [*by_model, dispatch_relay.RELEASE_LABEL],
                    "continue": True,
                    **ROLLBACK_TIMING,
                },
            ],
        },
        "receivers": [
            {"name": NULL_RECEIVER},
            {
                "name": RECEIVER,
                # Resolved alerts take nothing back. Every alert of a group names one model, so a
                # few alerts per notification are enough and keep bodies small.
                "webhook_configs": [{"url": relay_url(), "send_resolved": False, "max_alerts": 10}],
            },
        ],
    }


def relay_manifests(target: DispatchTarget, *, script: str) -> list[Manifest]:
    """ServiceAccount, ConfigMap (the relay's source), Deployment, Service and NetworkPolicy."""
    labels = {"app": RELAY_APP}
    meta = {"name": RELAY_APP, "namespace": L.MONITORING_NAMESPACE, "labels": labels}
    probe = {"httpGet": {"path": "/healthz", "port": RELAY_PORT}, "periodSeconds": 10}
    token_dir = "/var/run/secrets/github"
    env = {
        "MODELOPS_ENVIRONMENT": target.environment,
        "GITHUB_REPOSITORY": target.repository,
        "GITHUB_TOKEN_FILE": f"{token_dir}/{TOKEN_KEY}",
        "RELAY_PORT": str(RELAY_PORT),
        "PYTHONDONTWRITEBYTECODE": "1",  # the root filesystem is read-only
        "PYTHONUNBUFFERED": "1",
    }
    container = {
        "name": "relay",
        "image": RELAY_IMAGE,
        "imagePullPolicy": "Always",
        "command": ["python", f"/app/{RELAY_SCRIPT.name}"],
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "ports": [{"name": "http", "containerPort": RELAY_PORT}],
        "securityContext": container_security_context(),
        "resources": resources("50m", "64Mi"),
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 10},
        "volumeMounts": [
            {"name": "relay", "mountPath": "/app", "readOnly": True},
            {"name": "token", "mountPath": token_dir, "readOnly": True},
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {**meta, "annotations": checkov_skips(**IMAGE_DIGEST_SKIP)},
        "spec": {
            # Stateless, and Alertmanager retries a notification the relay could not take.
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                # A changed script rolls the pods: the ConfigMap alone would not restart Python.
                "metadata": {"labels": labels, "annotations": {"modelops.io/relay-sha256": _sha256(script)}},
                "spec": {
                    "serviceAccountName": RELAY_APP,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    "containers": [container],
                    "volumes": [
                        {"name": "relay", "configMap": {"name": RELAY_APP}},
                        {
                            "name": "token",
                            "secret": {
                                "secretName": TOKEN_SECRET,
                                "items": [{"key": TOKEN_KEY, "path": TOKEN_KEY}],
                                "defaultMode": 0o440,
                            },
                        },
                    ],
                },
            },
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta,
            "automountServiceAccountToken": False,
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {RELAY_SCRIPT.name: script}},
        deployment,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "type": "ClusterIP",
                "selector": labels,
                "ports": [{"name": "http", "port": RELAY_PORT, "targetPort": RELAY_PORT}],
            },
        },
        relay_network_policy(),
    ]


def relay_network_policy() -> Manifest:
    """Alertmanager in, DNS and HTTPS (GitHub's API) out; nothing else."""
    dns_pods = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": RELAY_APP, "namespace": L.MONITORING_NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"app": RELAY_APP}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": ALERTMANAGER_PODS}}],
                    "ports": [{"protocol": "TCP", "port": RELAY_PORT}],
                }
            ],
            "egress": [
                {
                    "to": [dns_pods],
                    "ports": [{"protocol": p, "port": L.DNS_PORT} for p in ("UDP", "TCP")],
                },
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                    "ports": [{"protocol": "TCP", "port": L.HTTPS_PORT}],
                },
            ],
        },
    }


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
