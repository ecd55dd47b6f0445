"""Alertmanager routes: pages to people, and the alerts that open pull requests to the relay.

Every `severity: page` alert goes to the environment's pager (`platform.alerting.page`: PagerDuty,
Slack or a webhook, its URL or key read from a Secret; the null receiver only where the file says so).
Two alerts also act on their own: drift asks for a retrain (`model-drift`), a failing candidate for
its rollback (`model-rollback`). Alertmanager routes exactly those to the `github-dispatch` webhook,
the relay in runtime/dispatch_relay.py turns them into GitHub dispatch events, and everything else
keeps kube-prometheus-stack's defaults (the `null` receiver, the Watchdog route).

The relay believes only Alertmanager: both mount the Secret AUTH_SECRET, Alertmanager presents it
as a bearer token, the relay compares. The relay acts only for the models listed in its ConfigMap,
the ones gitops/models/ serves in this environment.

Pure data, like network_policies: the Monitoring component declares these manifests and the tests read them.
"""

from __future__ import annotations

import hashlib
import math
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
from modelops_infra.settings import PagingSettings

Manifest = dict[str, Any]

RELAY_APP = "modelops-dispatch-relay"
RELAY_PORT = 8080
RELAY_SCRIPT = Path(dispatch_relay.__file__)
RELAY_IMAGE = "docker.io/library/python:3.12.12-slim-bookworm"
# Created out of band by the platform team, never by the stack (its value must not enter state):
# a fine-grained token for this one repository with Contents: read and write.
TOKEN_SECRET = "github-dispatch-token"
TOKEN_KEY = "token"
# Created by the stack from a random value: what Alertmanager presents to the relay.
AUTH_SECRET = f"{RELAY_APP}-auth"
AUTH_KEY = "token"
MODELS_KEY = "models"
RECEIVER = "github-dispatch"
NULL_RECEIVER = "null"
PAGE_RECEIVER = "page"
PAGE_SEVERITY = "page"  # alert_rules.py: act now
# The key of the pager's Secret that holds what Alertmanager reads, by receiver kind.
PAGER_KEYS = {"pagerduty": "routing-key", "slack": "api-url", "webhook": "url"}
# prometheus-operator's selector labels on the pods of the chart's Alertmanager (release
# `kube-prometheus-stack`, so the Alertmanager object is `kube-prometheus-stack-alertmanager`).
ALERTMANAGER_PODS = {
    "app.kubernetes.io/name": "alertmanager",
    "alertmanager": "kube-prometheus-stack-alertmanager",
}
# Where prometheus-operator mounts each Secret of `alertmanagerSpec.secrets` in Alertmanager's pod.
ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"

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
    """Where this stack's alerts become dispatch events: `owner/name`, the environment's name, and
    the models gitops/ serves there (the only ones the relay dispatches for)."""

    repository: str
    environment: str
    models: tuple[str, ...]


def relay_url() -> str:
    return f"http://{RELAY_APP}.{L.MONITORING_NAMESPACE}.svc:{RELAY_PORT}/alerts"


def alertmanager_secret_file(secret: str, key: str) -> str:
    """The path at which Alertmanager reads `key` of a Secret listed in `alertmanagerSpec.secrets`."""
    return f"{ALERTMANAGER_SECRETS_DIR}/{secret}/{key}"


def alertmanager_values(models_namespace: str, *, paging: PagingSettings, dispatch: bool) -> dict[str, Any]:
    """The chart's `alertmanager` values: the config, and the Secrets its pod mounts for it."""
    secrets = [AUTH_SECRET] if dispatch else []
    if paging.secret is not None:
        secrets.append(paging.secret)
    config = alertmanager_config(models_namespace, paging=paging, dispatch=dispatch)
    values: dict[str, Any] = {"config": config}
    if secrets:
        # prometheus-operator mounts each at ALERTMANAGER_SECRETS_DIR/<name>/, where the config reads it.
        values["alertmanagerSpec"] = {"secrets": secrets}
    return values


def alertmanager_config(models_namespace: str, *, paging: PagingSettings, dispatch: bool) -> dict[str, Any]:
    """The chart's `alertmanager.config` keys this platform sets; Helm merges the rest from defaults.

    Helm merges maps key by key but replaces lists, so `routes` and `receivers` restate the chart's
    own entries (the Watchdog route, the `null` receiver) beside ours. The dispatch routes `continue`,
    so the page route after them still sees a failing candidate: people are paged and a rollback is
    proposed. Without `dispatch` (the local stack) no alert goes to the relay.
    """
    ours = f'namespace="{models_namespace}"'
    drift = [f'alertname="{dispatch_relay.DRIFT_ALERT}"', ours]
    candidate = [
        f'alertname="{dispatch_relay.ERROR_RATE_ALERT}"',
        f'{dispatch_relay.RELEASE_LABEL}="{dispatch_relay.CANDIDATE_RELEASE}"',
        ours,
    ]
    by_model = ["alertname", "namespace", dispatch_relay.MODEL_LABEL]
    routes: list[dict[str, Any]] = [{"receiver": NULL_RECEIVER, "matchers": ['alertname="Watchdog"']}]
    receivers: list[dict[str, Any]] = [{"name": NULL_RECEIVER}]
    if dispatch:
        routes += [
            {"receiver": RECEIVER, "matchers": drift, "group_by": by_model, "continue": True, **DRIFT_TIMING},
            {
                "receiver": RECEIVER,
                "matchers": candidate,
                "group_by": [*by_model, dispatch_relay.RELEASE_LABEL],
                "continue": True,
                **ROLLBACK_TIMING,
            },
        ]
        receivers.append(_relay_receiver())
    # Any page, the platform's or not; one incident per failing release. The chart's group_wait,
    # group_interval and repeat_interval apply (30s, 5m, 12h).
    routes.append(
        {
            "receiver": PAGE_RECEIVER if paging.receiver is not None else NULL_RECEIVER,
            "matchers": [f'severity="{PAGE_SEVERITY}"'],
            "group_by": [*by_model, dispatch_relay.RELEASE_LABEL],
        }
    )
    if paging.receiver is not None:
        receivers.append(pager_receiver(paging))
    return {"route": {"receiver": NULL_RECEIVER, "routes": routes}, "receivers": receivers}


def pager_receiver(paging: PagingSettings) -> dict[str, Any]:
    """The `page` receiver; what it must keep secret is read from a file of the mounted Secret.

    Resolved alerts are sent too (Slack's default is not to): an incident closes when its alert does.
    """
    if paging.receiver is None or paging.secret is None:
        raise ValueError("the null receiver is Alertmanager's own; there is no pager to configure")
    path = alertmanager_secret_file(paging.secret, PAGER_KEYS[paging.receiver])
    configs: dict[str, Any]
    match paging.receiver:
        case "pagerduty":  # Events API v2
            configs = {"pagerduty_configs": [{"routing_key_file": path, "send_resolved": True}]}
        case "slack":  # an incoming webhook: its URL names the channel
            configs = {"slack_configs": [{"api_url_file": path, "send_resolved": True}]}
        case "webhook":  # url_file: Alertmanager 0.26 and later (the chart's is 0.28)
            configs = {"webhook_configs": [{"url_file": path, "send_resolved": True}]}
    return {"name": PAGE_RECEIVER, **configs}


def _relay_receiver() -> dict[str, Any]:
    return {
        "name": RECEIVER,
        # Resolved alerts take nothing back. Every alert of a group names one model, so a
        # few alerts per notification are enough and keep bodies small.
        "webhook_configs": [
            {
                "url": relay_url(),
                "send_resolved": False,
                "max_alerts": 10,
                # Read at each notification, so a rotated Secret needs no restart.
                "http_config": {
                    "authorization": {
                        "type": "Bearer",
                        "credentials_file": alertmanager_secret_file(AUTH_SECRET, AUTH_KEY),
                    }
                },
            }
        ],
    }


def relay_manifests(target: DispatchTarget, *, script: str) -> list[Manifest]:
    """ServiceAccount, ConfigMap (the relay's source and model list), Deployment, Service and
    NetworkPolicy. The Secret AUTH_SECRET is the caller's to create (its value is generated)."""
    labels = {"app": RELAY_APP}
    meta = {"name": RELAY_APP, "namespace": L.MONITORING_NAMESPACE, "labels": labels}
    probe = {"httpGet": {"path": "/healthz", "port": RELAY_PORT}, "periodSeconds": 10}
    token_dir = "/var/run/secrets/github"
    auth_dir = "/var/run/secrets/relay"
    models = "".join(f"{model}\n" for model in sorted(target.models))
    env = {
        "MODELOPS_ENVIRONMENT": target.environment,
        "GITHUB_REPOSITORY": target.repository,
        "GITHUB_TOKEN_FILE": f"{token_dir}/{TOKEN_KEY}",
        "RELAY_AUTH_TOKEN_FILE": f"{auth_dir}/{AUTH_KEY}",
        "RELAY_MODELS_FILE": f"/app/{MODELS_KEY}",
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
            {"name": "auth", "mountPath": auth_dir, "readOnly": True},
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
                # A changed script or model list rolls the pods: the relay reads both at start.
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "modelops.io/relay-sha256": _sha256(script),
                        "modelops.io/models-sha256": _sha256(models),
                    },
                },
                "spec": {
                    "serviceAccountName": RELAY_APP,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    # SIGTERM first: the relay answers the requests it holds, each bounded.
                    "terminationGracePeriodSeconds": math.ceil(dispatch_relay.LONGEST_REQUEST_S) + 10,
                    "containers": [container],
                    "volumes": [
                        {"name": "relay", "configMap": {"name": RELAY_APP}},
                        _secret_volume("token", TOKEN_SECRET, TOKEN_KEY),
                        _secret_volume("auth", AUTH_SECRET, AUTH_KEY),
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
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {RELAY_SCRIPT.name: script, MODELS_KEY: models},
        },
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


def _secret_volume(name: str, secret: str, key: str) -> Manifest:
    return {
        "name": name,
        "secret": {"secretName": secret, "items": [{"key": key, "path": key}], "defaultMode": 0o440},
    }


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
