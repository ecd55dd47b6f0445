"""`helm.v3.Release` from a pinned chart: no helm binary at preview, an exact version always."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from modelops_infra.versions import Chart


def release(
    resource_name: str,
    chart: Chart,
    *,
    release_name: str,
    namespace: str,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,  # fixed, so in-cluster service names are predictable
        chart=chart.chart,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
        namespace=namespace,
        create_namespace=False,  # namespaces belong to the security component, labelled
        atomic=True,
        cleanup_on_fail=True,
        values=values,
        opts=opts,
    )
