"""Self-hosted CI runners: pinned ARC charts, no privileged container, no Docker-in-Docker.

A runner in the VPC executes whatever a workflow job says, next to the registry and a private API
endpoint. A privileged container (Docker-in-Docker needs one) turns such a job into root on the node,
and with it every pod's credentials there. The rule reads the release's values as the engine has
them; values it cannot see (`valueYamlFiles`) fail, since they could hold either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from modelops_policies.kubernetes_rules import EXACT_VERSION

RELEASE = "kubernetes:helm.sh/v3:Release"
ARC_CHARTS = ("gha-runner-scale-set", "gha-runner-scale-set-controller")
# The scale set's own object, should a stack declare it without the chart.
AUTOSCALING_RUNNER_SET = "kubernetes:actions.github.com/v1alpha1:AutoscalingRunnerSet"
# summerwind's legacy ARC: runners outlive jobs unless told otherwise, and run dockerd by default.
LEGACY_ARC_GROUP = "kubernetes:actions.summerwind.dev/"


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _leaves(inner, f"{path}[{index}]")
    else:
        yield path, value


def runner_problems(values: Any) -> list[str]:
    """What makes a runner pod privileged or a Docker daemon host, anywhere in `values`."""
    problems = []
    for path, value in _leaves(values):
        if path.endswith(".privileged") and value is not False and str(value).lower() != "false":
            problems.append(f"{path.lstrip('.')} is {value}: a job would be root on the node")
        if path.endswith("allowPrivilegeEscalation") and str(value).lower() == "true":
            problems.append(f"{path.lstrip('.')} is true")
        if isinstance(value, str) and "dind" in value.lower():
            problems.append(f"{path.lstrip('.')} is {value!r}: Docker-in-Docker needs a privileged daemon")
    return problems


def _chart_name(chart: str) -> str:
    return chart.rstrip("/").rsplit("/", 1)[-1]


def runner_scale_set_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type.startswith(LEGACY_ARC_GROUP):
        report("Legacy (summerwind) ARC runners are not allowed: use a pinned gha-runner-scale-set.", None)
        return
    if args.resource_type == AUTOSCALING_RUNNER_SET:
        for problem in runner_problems(args.props.get("spec")):
            report(f"Runner scale set: {problem}.", None)
        return
    if args.resource_type != RELEASE:
        return
    chart = _chart_name(str(args.props.get("chart") or ""))
    if chart not in ARC_CHARTS:
        return
    version = str(args.props.get("version") or "")
    if not EXACT_VERSION.match(version):
        report(f"Helm release '{chart}' must pin an exact chart version, got '{version or 'none'}'.", None)
    if args.props.get("valueYamlFiles"):
        report(f"Helm release '{chart}' takes values from files the policy cannot read: use values.", None)
    for problem in runner_problems(args.props.get("values") or {}):
        report(f"Helm release '{chart}': {problem}.", None)
