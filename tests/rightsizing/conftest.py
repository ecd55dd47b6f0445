"""For the rightsizing tests: a platform repository in a temp dir, and one backfilled Prometheus
holding ten days of synthetic cAdvisor, kube-state-metrics and MLServer series, a model per case,
each with a known answer, beside series of other namespaces, models and containers to ignore."""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelops.bench.cadvisor_history import MIB, History, Latency, Pod
from modelops.bench.prometheus_history import history
from tests.conftest import REPO_ROOT
from tests.tools import require_command

NAMESPACE = "models-prod"  # environments/prod.yaml's destination
DAYS = 10.0
POD_HASH = "5d8f9c7b4-x2x4z"  # a ReplicaSet hash and a pod suffix, from Kubernetes' safe alphabet
FAST, BRISK, SLOW = 1, 2, 3  # latency buckets: p95 19.5 ms, 29.5 ms, 39.5 ms (prod's SLA: 40 ms)


def pod(model: str, *, namespace: str = NAMESPACE, days: float = DAYS, **kwargs: object) -> Pod:
    defaults: dict[str, object] = {"cpu": lambda i: 0.1, "memory": lambda i: 300 * MIB}
    return Pod(namespace, f"{model}-predictor-{POD_HASH}", days, **{**defaults, **kwargs})  # type: ignore[arg-type]


def latency(model: str, bucket: int, *, release: str = "stable", days: float = DAYS) -> Latency:
    return Latency(NAMESPACE, model, release, bucket, days)


def build(end: float) -> History:
    spike_sample = 1001  # one 2-minute sample, between two 5-minute steps
    pods = [
        pod("steady"),
        # The candidate of steady: its own release, compared, never mixed into stable's figures.
        pod("steady-candidate", days=3, cpu=lambda i: 0.2, memory=lambda i: 400 * MIB),
        # 0.105 cores: x1.1 is 115.5m, clear of a millicore boundary whichever 5-minute step the
        # window starts on (a step more or less moves the margin by 0.0001).
        pod("credit-risk", cpu=lambda i: 0.105),
        # 12 minutes in every 2000 (under 1 %): the peak, never the p95. The busy one, 10 %: the p95.
        pod("spiky", cpu=lambda i: 0.8 if i % 1000 < 6 else 0.1),
        pod("busy", cpu=lambda i: 0.8 if i % 100 < 10 else 0.1),
        pod("peaky", memory=lambda i: 900 * MIB if i == spike_sample else 300 * MIB),
        pod("oomed", memory=lambda i: 400 * MIB, oom_killed=True),
        pod("young", days=2),
        pod("throttled", cpu=lambda i: 0.05, throttled_share=0.3),
        pod("slow"),
        pod("brisk"),
        pod("silent"),  # serves no requests: no latency to clear a lower CPU request
        # The same usage, high a tenth of the time, the second with a NaN in every third sample: the
        # p95 is the high level only while NaN are dropped (sorted below every number, the NaN of
        # most windows would pull the percentile into the low level).
        pod("spread", cpu=lambda i: 0.3 if i % 200 < 20 else 0.1),
        pod("gappy", cpu=lambda i: 0.3 if i % 200 < 20 else 0.1, nan_at=tuple(range(0, 7200, 3))),
        # A pod replaced halfway continues the release's history; two replicas side by side do not
        # add theirs up: 4 days each, still 4 days, under prod's 7.
        Pod(
            NAMESPACE, "rolled-predictor-5d8f9c7b4-bbbbb", 5, lambda i: 0.1, lambda i: 300 * MIB, gone_days=5
        ),
        Pod(NAMESPACE, "rolled-predictor-7c9d6f8b5-ccccc", 5, lambda i: 0.1, lambda i: 300 * MIB),
        Pod(NAMESPACE, "paired-predictor-5d8f9c7b4-bbbbb", 4, lambda i: 0.1, lambda i: 300 * MIB),
        Pod(NAMESPACE, "paired-predictor-5d8f9c7b4-ccccc", 4, lambda i: 0.1, lambda i: 300 * MIB),
        # Must all be ignored when steady is read:
        pod("steady", namespace="models-dev", cpu=lambda i: 3.0, memory=lambda i: 4096 * MIB),
        pod("steady-predictor-bcd", cpu=lambda i: 3.0, memory=lambda i: 4096 * MIB),  # another model
        pod("steadyx", cpu=lambda i: 3.0, memory=lambda i: 4096 * MIB),
        Pod(
            NAMESPACE, f"steady-predictor-{POD_HASH}", DAYS, lambda i: 3.0, lambda i: 4096 * MIB, container=""
        ),
        Pod(
            NAMESPACE,
            f"steady-predictor-{POD_HASH}",
            DAYS,
            lambda i: 3.0,
            lambda i: 4096 * MIB,
            container="agent",
        ),
    ]
    latencies = [
        latency(model, FAST)
        for model in (
            "steady",
            "credit-risk",
            "spiky",
            "busy",
            "peaky",
            "oomed",
            "young",
            "throttled",
            "spread",
            "gappy",
            "rolled",
            "paired",
        )
    ]
    latencies += [
        latency("slow", SLOW),
        latency("brisk", BRISK),
        latency("steady", SLOW, release="candidate"),
    ]
    return History(end=end, pods=pods, latencies=latencies)


@pytest.fixture(scope="session")
def prometheus_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, datetime]]:
    """(Prometheus base URL, the end of the history)."""
    promtool, prometheus = require_command("promtool"), require_command("prometheus")
    end = float(math.floor(time.time() / 60) * 60)
    workdir = tmp_path_factory.mktemp("rightsizing-prometheus")
    with history(build(end).write, Path(workdir), promtool=promtool, binary=prometheus) as base:
        yield base, datetime.fromtimestamp(end, UTC)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    require_command("kubectl")
    root = tmp_path / "platform"
    for folder in ("environments", "policies", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "config", "user.email", "platform@example.org")
    git(root, "config", "user.name", "Platform")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "Platform")
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    monkeypatch.setenv("MODELOPS_CRD_SCHEMAS", str(REPO_ROOT.parent / "shared" / "schemas" / "crds"))
    return root
