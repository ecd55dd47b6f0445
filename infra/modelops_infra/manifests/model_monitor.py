"""The monitor job's CronJobs (`modelops monitor`, one per model) and the Pushgateway they push to.

Pure builders: plain manifests the Monitoring component turns into resources. The Pushgateway keeps
what it holds in a file on its volume, written every minute and on SIGTERM, so a restart in the middle
of an hour does not empty the drift panels; Prometheus scrapes it with honor_labels, so the series
keep the `model` and `release` the job gave them instead of the Pushgateway's own target labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelops_infra import layout as L
from modelops_infra.manifests.workloads import (
    IMAGE_DIGEST_SKIP,
    checkov_skips,
    container_security_context,
    pod_security_context,
    resources,
)

PUSHGATEWAY = "pushgateway"
PUSHGATEWAY_PORT = 9091
MONITOR_APP = "modelops-monitor"
# The monitor reads the hour that just ended, a few minutes after it ends (the sink's files close first).
SCHEDULE_MINUTE = 7


@dataclass(frozen=True)
class MonitorJob:
    """What each environment's monitor CronJobs run."""

    environment: str
    image: str  # the modelops package's image
    models: tuple[str, ...]
    payloads_uri: str  # where the payload sink writes (s3://bucket/prefix on AWS)
    mlflow_uri: str
    every_hours: int = 1

    @property
    def schedule(self) -> str:
        return (
            f"{SCHEDULE_MINUTE} */{self.every_hours} * * *"
            if self.every_hours > 1
            else f"{SCHEDULE_MINUTE} * * * *"
        )

    @property
    def period_s(self) -> int:
        return self.every_hours * 3600


def pushgateway_url() -> str:
    return f"http://{PUSHGATEWAY}.{L.MONITORING_NAMESPACE}.svc:{PUSHGATEWAY_PORT}"


def pushgateway_manifests(image: str) -> dict[str, dict[str, Any]]:
    """{kind: manifest} of the Pushgateway: Deployment, Service, and the ServiceMonitor Prometheus scrapes."""
    labels = {"app": PUSHGATEWAY}
    meta = {"name": PUSHGATEWAY, "namespace": L.MONITORING_NAMESPACE, "labels": labels}
    container = {
        "name": PUSHGATEWAY,
        "image": image,
        "imagePullPolicy": "Always",
        "args": ["--persistence.file=/data/metrics", "--persistence.interval=1m"],
        "ports": [{"name": "http", "containerPort": PUSHGATEWAY_PORT}],
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": PUSHGATEWAY_PORT}},
        "livenessProbe": {"httpGet": {"path": "/-/healthy", "port": PUSHGATEWAY_PORT}},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "securityContext": container_security_context(),
        "resources": resources("50m", "64Mi"),
    }
    deployment = {
        "metadata": {**meta, "annotations": checkov_skips(**IMAGE_DIGEST_SKIP)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    # The persistence file is flushed on SIGTERM: give it the time to.
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            },
        },
    }
    service = {
        "metadata": meta,
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": PUSHGATEWAY_PORT, "targetPort": "http"}],
        },
    }
    monitor = {
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": labels},
            # The job's own labels (model, release, column) win over the Pushgateway's target labels.
            "endpoints": [{"port": "http", "path": "/metrics", "honorLabels": True}],
        },
    }
    return {"Deployment": deployment, "Service": service, "ServiceMonitor": monitor}


def monitor_cronjob(model: str, *, job: MonitorJob) -> dict[str, Any]:
    """`metadata` and `spec` of the CronJob that runs `modelops monitor <model> --env <environment>`."""
    environment = job.environment
    name = f"monitor-{model}"
    labels = {"app": MONITOR_APP, "modelops.io/model": model}
    container = {
        "name": "monitor",
        "image": job.image,
        "imagePullPolicy": "Always",
        "args": ["monitor", model, "--env", environment, "--window", f"{job.every_hours}h"],
        "env": [
            {"name": "MODELOPS_PAYLOADS", "value": job.payloads_uri},
            {"name": "MODELOPS_PUSHGATEWAY", "value": pushgateway_url()},
            {"name": "MLFLOW_TRACKING_URI", "value": job.mlflow_uri},
            {"name": "MLFLOW_DISABLE_TELEMETRY", "value": "true"},
            {"name": "HOME", "value": "/tmp"},  # the root filesystem is read-only
        ],
        "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}],
        "securityContext": container_security_context(),
        "resources": resources("500m", "1536Mi"),
    }
    return {
        "metadata": {
            "name": name,
            "namespace": L.JOBS_NAMESPACE,
            "labels": labels,
            "annotations": checkov_skips(**IMAGE_DIGEST_SKIP),
        },
        "spec": {
            "schedule": job.schedule,
            "timeZone": "Etc/UTC",
            # A run still going when the next is due is let finish; the next waits for the one after.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 1,
                    "activeDeadlineSeconds": job.period_s - 300,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "securityContext": pod_security_context(),
                            "containers": [container],
                            "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "2Gi"}}],
                        },
                    },
                }
            },
        },
    }


def monitor_network_policies() -> list[dict[str, Any]]:
    """The monitor's pods may reach the Pushgateway, and the Pushgateway takes pushes from them only
    (Prometheus, in its namespace, scrapes it under that namespace's own policy)."""
    push_port = [{"protocol": "TCP", "port": PUSHGATEWAY_PORT}]
    return [
        {
            "metadata": {"name": "monitor-egress", "namespace": L.JOBS_NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": MONITOR_APP}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": L.MONITORING_NAMESPACE}
                                },
                                "podSelector": {"matchLabels": {"app": PUSHGATEWAY}},
                            }
                        ],
                        "ports": push_port,
                    },
                    # The payloads are in S3 (HTTPS), and MLflow hands out S3 artifact locations.
                    {"ports": [{"protocol": "TCP", "port": L.HTTPS_PORT}]},
                ],
            },
        },
        {
            "metadata": {"name": "pushgateway-from-monitor", "namespace": L.MONITORING_NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": PUSHGATEWAY}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": L.JOBS_NAMESPACE}
                                },
                                "podSelector": {"matchLabels": {"app": MONITOR_APP}},
                            }
                        ],
                        "ports": push_port,
                    }
                ],
            },
        },
    ]
