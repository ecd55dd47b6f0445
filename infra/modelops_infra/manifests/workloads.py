"""Kubernetes building blocks every workload shares: the restricted security profile."""

from __future__ import annotations

from typing import Any

from modelops_infra.layout import JOBS_NAMESPACE

# A UID above the host's system range (checkov CKV_K8S_40) that no image ships as root.
RUN_AS_USER = 10001


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """What Pod Security Admission `restricted` demands, plus a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(cpu: str, memory: str) -> dict[str, Any]:
    # Requests equal limits for memory (no OOM surprises); CPU may burst to twice its request.
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": _double(cpu), "memory": memory}}


def _double(cpu: str) -> str:
    if cpu.endswith("m"):
        return f"{int(cpu[:-1]) * 2}m"
    return str(float(cpu) * 2).removesuffix(".0")


def checkov_skips(**reasons: str) -> dict[str, str]:
    """Inline, justified checkov skips: `checkov.io/skipN: CHECK_ID=reason` annotations."""
    return {
        f"checkov.io/skip{index}": f"{check}={reason}"
        for index, (check, reason) in enumerate(sorted(reasons.items()), start=1)
    }


# The image is pinned by tag; digests are resolved by the registry mirror, not in code.
IMAGE_DIGEST_SKIP = {"CKV_K8S_43": "images are pinned to immutable release tags in versions.py"}


def run_once_job(
    name: str,
    namespace: str,
    *,
    revision: Any,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    backoff_limit: int,
    deadline_s: int,
) -> dict[str, Any]:
    """`metadata` and `spec` of a hardened Job that runs once, and again when `revision` changes.

    The revision sits on the pod template, which a Job cannot change in place: the caller creates
    the Job with `delete_before_replace`, so a new revision replaces it and it runs again.
    """
    labels = {"app": name}
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": checkov_skips(**IMAGE_DIGEST_SKIP),
        },
        "spec": {
            "backoffLimit": backoff_limit,
            "activeDeadlineSeconds": deadline_s,
            "template": {
                "metadata": {"labels": labels, "annotations": {"modelops.io/users-revision": revision}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    "containers": [
                        {
                            "imagePullPolicy": "Always",
                            **container,
                            "securityContext": container_security_context(),
                            "resources": resources("100m", "128Mi"),
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def cron_job(
    name: str,
    *,
    labels: dict[str, str],
    skips: dict[str, str],
    schedule: str,
    starting_deadline_s: int,
    backoff_limit: int,
    deadline_s: int,
    pod_spec: dict[str, Any],
) -> dict[str, Any]:
    """`metadata` and `spec` of a hardened CronJob in the jobs namespace, on UTC, one run at a time.

    `pod_spec` gives the containers, volumes and identity; the restricted pod security context, a
    `Never` restart policy and an unmounted API token are added here (a pod that calls the API server
    projects its own token in `pod_spec`'s volumes).
    """
    return {
        "metadata": {
            "name": name,
            "namespace": JOBS_NAMESPACE,
            "labels": labels,
            "annotations": checkov_skips(**skips),
        },
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            # A run still going when the next is due is let finish; the next due waits for the one after.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": starting_deadline_s,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": backoff_limit,
                    "activeDeadlineSeconds": deadline_s,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "securityContext": pod_security_context(),
                            **pod_spec,
                        },
                    },
                }
            },
        },
    }
