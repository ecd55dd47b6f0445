"""Kubernetes-side rules: Helm releases pinned to an exact chart version.

`report(message, None)`: the second argument is the URN a violation is about, None for the resource
being validated; pulumi_policy's `ReportViolation` type makes it a required argument.
"""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs

# An exact SemVer with optional leading v and pre-release; no ranges, no wildcards.
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


def helm_release_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "kubernetes:helm.sh/v3:Release":
        return
    version = str(args.props.get("version") or "")
    if not EXACT_VERSION.match(version):
        report(
            f"Helm release '{args.props.get('chart')}' must pin an exact chart version, "
            f"got '{version or 'none'}'.",
            None,
        )
