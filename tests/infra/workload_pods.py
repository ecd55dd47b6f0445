"""Stand-in pods for network-config-analyzer: a workload's namespace, labels and one port."""

from __future__ import annotations

from typing import Any


def workload_pod(namespace: str, name: str, labels: dict[str, str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": name, "image": "workload", "ports": [{"containerPort": port}]}]},
        "status": {"podIP": "10.0.0.1", "hostIP": "10.0.0.1"},
    }
