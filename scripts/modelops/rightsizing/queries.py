"""The PromQL rightsizing reads: cAdvisor's usage, kube-state-metrics' kills and MLServer's latency
of the predictor pods, grouped by the InferenceService they belong to (a model's stable release is
the InferenceService named after it, its candidate `<model>-candidate`).

cAdvisor's and kube-state-metrics' series carry no model label (the PodMonitor adds `model` and
`release` to MLServer's series only), so pods are chosen by name. KServe's RawDeployment names the
predictor Deployment `<isvc>-predictor`; its pods are `<isvc>-predictor-<replicaset hash>-<suffix>`,
both drawn from Kubernetes' safe alphabet (no vowels, no 0, 1, 3). The pattern is anchored and
spells exactly those two parts, so `a-predictor-x-...` of a model named `a-predictor-x` is never
taken for model `a`, and a candidate's pods are never taken for its stable release.

Every query is an instant query at the window's end and answers for all the models asked at once:
the percentile and the peaks are computed inside Prometheus (`quantile_over_time` over a subquery,
`max_over_time`), which returns one number per release instead of weeks of samples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from modelops.observability import promql
from modelops.serving.contract import CANDIDATE_SUFFIX

CONTAINER = "kserve-container"  # KServe's name for the model server's container
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"  # k8s.io/apimachinery's SafeEncodeString alphabet
POD_OF = rf"(.+)-predictor-{_SAFE}{{1,10}}-{_SAFE}{{5}}"
_MODEL_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
ISVC = "isvc"  # the label the queries add: the InferenceService a pod belongs to

CPU = "container_cpu_usage_seconds_total"
MEMORY = "container_memory_working_set_bytes"
THROTTLED = "container_cpu_cfs_throttled_periods_total"
PERIODS = "container_cpu_cfs_periods_total"
LAST_TERMINATED = "kube_pod_container_status_last_terminated_reason"
RESTARTS = "kube_pod_container_status_restarts_total"
# MLServer's request histogram (starlette_exporter's, prefix rest_server); the dashboards' PromQL
# (infra/modelops_infra/manifests/promql.py `latency_quantile`) reads the same series.


def is_model_name(model: str) -> bool:
    return len(model) <= 63 and _MODEL_NAME.fullmatch(model) is not None


def _pods(models: Iterable[str]) -> str:
    names = "|".join(sorted(models))  # model names are DNS labels: nothing in them needs escaping
    return f"({names})({CANDIDATE_SUFFIX})?-predictor-{_SAFE}{{1,10}}-{_SAFE}{{5}}"


def selector(namespace: str, models: Iterable[str], **extra: str) -> str:
    labels = {"namespace": namespace, "container": CONTAINER, **extra}
    matchers = [f'{key}="{value}"' for key, value in labels.items()]
    return "{" + ", ".join([*matchers, f'pod=~"{_pods(models)}"']) + "}"


def _by_isvc(expression: str) -> str:
    return f'label_replace({expression}, "{ISVC}", "$1", "pod", "{POD_OF}")'


def _cpu_rate(namespace: str, models: Iterable[str], resolution: str) -> str:
    return f"rate({CPU}{selector(namespace, models)}[{resolution}])"


# Inside a subquery every operator runs once per step: a `max by (pod)` or a label_replace there
# made these queries 3 to 5 times slower (benchmark). So the subqueries see bare series and the
# InferenceService is named once per series afterwards. A restarted container is a new series of the
# same pod; each gets its own percentile and the highest counts, as the highest pod does.


def cpu_percentile(
    namespace: str, models: Iterable[str], *, percentile: float, window: str, resolution: str
) -> str:
    """Per release: the highest series' `percentile` of its per-resolution CPU rate (krr's, per pod).
    `>= 0` drops NaN samples (NaN compares false), which quantile_over_time would sort below every
    number, pulling the percentile down."""
    rates = f"({_cpu_rate(namespace, models, resolution)} >= 0)[{window}:{resolution}]"
    return f"max by ({ISVC}) ({_by_isvc(f'quantile_over_time({percentile:g}, {rates})')})"


def cpu_peak(namespace: str, models: Iterable[str], *, window: str, resolution: str) -> str:
    """Per release: the highest per-resolution CPU rate of any series (max_over_time skips NaN)."""
    rates = f"{_cpu_rate(namespace, models, resolution)}[{window}:{resolution}]"
    return f"max by ({ISVC}) ({_by_isvc(f'max_over_time({rates})')})"


def cpu_samples(namespace: str, models: Iterable[str], *, window: str) -> str:
    """Per release: the raw CPU samples (scrapes) in the window, over all its pods."""
    raw = f"count_over_time({CPU}{selector(namespace, models)}[{window}])"
    return f"sum by ({ISVC}) ({_by_isvc(raw)})"


HISTORY_STEP = "1h"


def history_hours(namespace: str, models: Iterable[str], *, window: str) -> str:
    """Per release: the hours of the window in which any of its pods had a CPU sample; a pod that
    replaced another continues its history, and replicas side by side do not add to it."""
    per_hour = _by_isvc(f"count_over_time({CPU}{selector(namespace, models)}[{HISTORY_STEP}])")
    return f"count_over_time((max by ({ISVC}) ({per_hour}))[{window}:{HISTORY_STEP}])"


def memory_peak(namespace: str, models: Iterable[str], *, window: str) -> str:
    """Per release: the highest working set of any pod, over every raw sample (a subquery's steps
    would miss a peak between them, and the peak is what an OOM kill follows)."""
    raw = f"max_over_time({MEMORY}{selector(namespace, models)}[{window}])"
    return f"max by ({ISVC}) ({_by_isvc(raw)} >= 0)"


def memory_samples(namespace: str, models: Iterable[str], *, window: str) -> str:
    raw = f"count_over_time({MEMORY}{selector(namespace, models)}[{window}])"
    return f"sum by ({ISVC}) ({_by_isvc(raw)})"


def throttled_share(namespace: str, models: Iterable[str], *, window: str) -> str:
    throttled = f"increase({THROTTLED}{selector(namespace, models)}[{window}])"
    periods = f"increase({PERIODS}{selector(namespace, models)}[{window}])"
    return f"(sum by ({ISVC}) ({_by_isvc(throttled)}) / sum by ({ISVC}) ({_by_isvc(periods)} > 0)) >= 0"


def oom_killed(namespace: str, models: Iterable[str], *, window: str) -> str:
    """Per release: 1 where a container's last termination was an OOM kill at any time in the window.
    The gauge stays 1 until the next termination, so a kill just before the window counts too: the
    safe side, as it only holds memory up."""
    last = f"max_over_time({LAST_TERMINATED}{selector(namespace, models, reason='OOMKilled')}[{window}])"
    return f"max by ({ISVC}) ({_by_isvc(last)}) > 0"


def restarts(namespace: str, models: Iterable[str], *, window: str) -> str:
    return f"sum by ({ISVC}) ({_by_isvc(f'increase({RESTARTS}{selector(namespace, models)}[{window}])')})"


def pods(namespace: str, models: Iterable[str], *, window: str) -> str:
    raw = f"count_over_time({MEMORY}{selector(namespace, models)}[{window}])"
    return f"count by ({ISVC}) (count by ({ISVC}, pod) ({_by_isvc(raw)}))"


def latency_p95(namespace: str, models: Iterable[str], *, window: str) -> str:
    """Per model and release (the PodMonitor's labels): the p95 of every request over the window, in
    seconds, built by the dashboards' and alerts' own `latency_quantile` (a rate's quantile is the
    increase's: the ratio of the buckets is the same)."""
    chosen = ", ".join(
        [promql.label_matcher("namespace", namespace), promql.label_in("model", sorted(models))]
    )
    return promql.latency_quantile(0.95, window, selector=chosen)
