"""The Alertmanager configuration the chart ends up with, and the Alertmanager binary to run it.

kube-prometheus-stack renders `alertmanager.config` from its defaults with our values merged over
them the way Helm merges (maps key by key, anything else replaced). The defaults below are the
chart's values.yaml `alertmanager.config`, copied; the test of the merged result runs amtool on it.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from typing import Any

from modelops_infra.manifests.alert_routing import alertmanager_config
from modelops_infra.settings import PagingSettings

CHART_DEFAULT_CONFIG: dict[str, Any] = {
    "global": {"resolve_timeout": "5m"},
    "inhibit_rules": [
        {
            "source_matchers": ["severity = critical"],
            "target_matchers": ["severity =~ warning|info"],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ["severity = warning"],
            "target_matchers": ["severity = info"],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ["alertname = InfoInhibitor"],
            "target_matchers": ["severity = info"],
            "equal": ["namespace"],
        },
        {"target_matchers": ["alertname = InfoInhibitor"]},
    ],
    "route": {
        "group_by": ["namespace"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "12h",
        "receiver": "null",
        "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}],
    },
    "receivers": [{"name": "null"}],
    "templates": ["/etc/alertmanager/config/*.tmpl"],
}


def helm_merge(defaults: Any, values: Any) -> Any:
    """Helm's coalescing of user values over chart defaults: maps merge, everything else is replaced."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        merged = copy.deepcopy(defaults)
        for key, value in values.items():
            merged[key] = helm_merge(defaults[key], value) if key in defaults else copy.deepcopy(value)
        return merged
    return copy.deepcopy(values)


def effective_config(
    models_namespace: str, *, paging: PagingSettings, dispatch: bool = True
) -> dict[str, Any]:
    ours = alertmanager_config(models_namespace, paging=paging, dispatch=dispatch)
    return helm_merge(CHART_DEFAULT_CONFIG, ours)


def alertmanager_version(binary: str) -> tuple[int, ...]:
    """`alertmanager, version 0.25.0 (branch: ...)` as (0, 25, 0)."""
    shown = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"version (\d+)\.(\d+)\.(\d+)", shown.stdout + shown.stderr)
    assert match is not None, shown
    return tuple(int(part) for part in match.groups())


def alertmanager_binary() -> str | None:
    # Upstream names it alertmanager; Debian's prometheus-alertmanager package, after the package.
    return shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
