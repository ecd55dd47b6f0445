"""What a rightsizing says, as Markdown for its pull request and as lines for the terminal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from modelops.config.rightsizing import RightsizingPolicy
from modelops.rightsizing import quantity
from modelops.rightsizing.recommend import Recommendation, texts
from modelops.rightsizing.usage import Resources, Usage


@dataclass(frozen=True, kw_only=True)
class Evidence:
    model: str
    environment: str
    window: str
    end: datetime
    usage: Usage
    candidate: Usage | None  # None: no candidate release has run in the window
    candidate_notes: tuple[str, ...]
    recommendation: Recommendation
    replicas: tuple[int, int]  # (minReplicas, maxReplicas)
    policy: RightsizingPolicy
    sla_ms: float


def _delta(current: float, recommended: float) -> str:
    return "=" if current == recommended else f"{recommended / current - 1:+.0%}" if current else "new"


def rows(current: Resources, recommended: Resources) -> list[tuple[str, str, str, str]]:
    """(value, current, recommended, change) for the four values."""
    now, then = texts(current), texts(recommended)
    numbers = {
        "requests.cpu": (current.cpu_request, recommended.cpu_request),
        "limits.cpu": (current.cpu_limit, recommended.cpu_limit),
        "requests.memory": (current.memory_request, recommended.memory_request),
        "limits.memory": (current.memory_limit, recommended.memory_limit),
    }
    return [(name, now[name], then[name], _delta(*numbers[name])) for name in now]


def capacity_saved(current: Resources, recommended: Resources, replicas: tuple[int, int]) -> str:
    """Requests freed on the nodes (the scheduler reserves requests): replicas x delta; negative: more."""
    low, high = replicas
    cpu = (current.cpu_request - recommended.cpu_request) * 1000
    memory = (current.memory_request - recommended.memory_request) / quantity.MIB
    span = f"{low}" if low == high else f"{low} to {high}"

    def times(per_replica: float, unit: str) -> str:
        return " to ".join(f"{per_replica * n:+,.0f}{unit}" for n in sorted({low, high}))

    return (
        f"{times(cpu, 'm')} CPU and {times(memory, 'Mi')} memory of requests at {span} replicas "
        f"({cpu:+,.0f}m and {memory:+,.0f}Mi per replica)"
    )


def basis(evidence: Evidence) -> list[str]:
    usage, policy = evidence.usage, evidence.policy
    cpu = quantity.cpu_text(usage.cpu_percentile) if usage.cpu_percentile is not None else "none"
    peak = quantity.memory_text(usage.memory_peak) if usage.memory_peak is not None else "none"
    latency = f"{usage.latency_p95_ms:.1f} ms" if usage.latency_p95_ms is not None else "none recorded"
    throttled = f"{usage.throttled_share:.1%}" if usage.throttled_share is not None else "no data"
    return [
        f"window: {evidence.window} ending {evidence.end:%Y-%m-%d %H:%M} UTC; "
        f"{usage.history_days:.1f} days of history over {usage.pods} pod(s)",
        f"CPU: p{policy.cpu_percentile * 100:g} of {policy.resolution} usage {cpu} (the highest pod's, "
        f"from {usage.cpu_samples} CPU samples); "
        f"peak {quantity.cpu_text(usage.cpu_peak or 0)}",
        f"memory: peak working set {peak} ({usage.memory_samples} samples) + {policy.memory_headroom:.0%}",
        f"confidence margin x{evidence.recommendation.margin:.3f} "
        f"(1 + {policy.confidence_multiplier:g} / {usage.history_days:.1f} days)",
        f"throttled CFS periods: {throttled}; OOM kill: {'yes' if usage.oom_killed else 'no'}; "
        f"restarts: {usage.restarts:.0f}",
        f"p95 latency: {latency} (SLA {evidence.sla_ms:g} ms)",
    ]


def pull_request_body(evidence: Evidence) -> str:
    recommendation = evidence.recommendation
    assert recommendation.recommended is not None  # only a recommendation becomes a pull request
    saved = capacity_saved(recommendation.current, recommendation.recommended, evidence.replicas)
    lines = [
        f"Rightsizes {evidence.model}'s stable predictor in {evidence.environment} from its usage "
        "history (`modelops rightsize`).",
        "",
        "| value | current | recommended | change |",
        "|---|---|---|---|",
        *(
            f"| {a} | {b} | {c} | {d} |"
            for a, b, c, d in rows(recommendation.current, recommendation.recommended)
        ),
        "",
        f"Capacity saved: {saved}.",
        "",
        "Basis:",
        *(f"- {line}" for line in basis(evidence)),
    ]
    if recommendation.notes or evidence.candidate_notes:
        lines += ["", "Notes:", *(f"- {n}" for n in (*recommendation.notes, *evidence.candidate_notes))]
    lines += ["", "A resources change serves the same release: the gate validates it and judges no release."]
    return "\n".join(lines) + "\n"
