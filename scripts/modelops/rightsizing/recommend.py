"""The recommender: a release's usage history and its current resources in, requests and limits out.

Pure: no Prometheus, no files. The anchors, each step named where it is taken:
- krr's simple strategy: the CPU request at a percentile (95th) of usage, memory request and limit at
  the peak plus 15 %.
- the VPA recommender: estimates scaled by a confidence margin (1 + multiplier / days) ** exponent
  that shrinks as days of history grow, and after an OOM kill memory at least the killed limit times
  1.2, and at least that limit plus 100 MiB.

Where this departs from krr, and why:
- CPU limits are kept (krr removes them): CKV_MODELOPS_5 requires one, so noisy neighbours stay bounded.
  A CPU limit reserves nothing on a node (the scheduler counts requests), so lowering it saves no
  capacity and only adds throttling: it is never lowered, is at least request x cpu_limit_ratio and
  at least the peak seen, and is raised when the container was throttled.
- Throttled usage is capped by the limit, not measured: the CPU request is then never lowered.
- CPU is never lowered while the release's p95 latency is near the environment's SLA, nor when there
  is no latency to judge (fail closed).
- Decreases smaller than `min_change` are not proposed; increases always are.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelops.config.rightsizing import RightsizingPolicy
from modelops.rightsizing import quantity
from modelops.rightsizing.usage import Resources, Usage


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    current: Resources
    recommended: Resources | None  # None: refused, see `refused`
    refused: str | None = None
    # Why each value is what it is: the guards that held a value, the bumps, the margin used.
    notes: tuple[str, ...] = ()
    margin: float = 1.0

    @property
    def changed(self) -> bool:
        """Whether the written values differ (rounded as they are written)."""
        return self.recommended is not None and texts(self.recommended) != texts(self.current)


def texts(resources: Resources) -> dict[str, str]:
    """The four values as the overlay writes them."""
    return {
        "requests.cpu": quantity.cpu_text(resources.cpu_request),
        "limits.cpu": quantity.cpu_text(resources.cpu_limit),
        "requests.memory": quantity.memory_text(resources.memory_request),
        "limits.memory": quantity.memory_text(resources.memory_limit),
    }


def confidence_margin(days: float, *, policy: RightsizingPolicy) -> float:
    """VPA's upper-bound confidence multiplier: (1 + multiplier / days) ** exponent."""
    return float((1.0 + policy.confidence_multiplier / days) ** policy.confidence_exponent)


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _cpu(
    usage: Usage, current: Resources, *, margin: float, policy: RightsizingPolicy, sla_ms: float
) -> tuple[float, list[str]]:
    assert usage.cpu_percentile is not None  # has_usage was checked
    floor = policy.min_cpu_millicores / 1000
    wanted = max(usage.cpu_percentile * margin, floor)
    if quantity.millicores(wanted) >= quantity.millicores(current.cpu_request):
        return wanted, []
    near = (1.0 - policy.latency_headroom) * sla_ms
    shown = quantity.cpu_text(wanted)
    if usage.throttled_share is not None and usage.throttled_share > policy.max_throttled_share:
        why = (
            f"CPU request kept: {usage.throttled_share:.0%} of CFS periods were throttled (over "
            f"{policy.max_throttled_share:.0%}), so usage was capped by the limit, not measured; "
            f"{shown} not proposed"
        )
    elif usage.latency_p95_ms is None:
        why = f"CPU request kept: no latency recorded for the release, so the SLA guard cannot clear {shown}"
    elif usage.latency_p95_ms >= near:
        why = (
            f"CPU request kept: p95 latency {_ms(usage.latency_p95_ms)} is within "
            f"{policy.latency_headroom:.0%} of the SLA {_ms(sla_ms)} (at or above {_ms(near)}); "
            f"{shown} not proposed"
        )
    elif current.cpu_request - wanted < policy.min_change * current.cpu_request:
        why = f"CPU request kept: {shown} is less than {policy.min_change:.0%} below it"
    else:
        return wanted, [
            f"latency guard: p95 latency {_ms(usage.latency_p95_ms)} is below {_ms(near)} "
            f"({1 - policy.latency_headroom:.0%} of the SLA {_ms(sla_ms)}), so CPU may be lowered"
        ]
    return current.cpu_request, [why]


def _cpu_limit(
    usage: Usage, current: Resources, request: float, *, margin: float, policy: RightsizingPolicy
) -> tuple[float, list[str]]:
    limit = max(current.cpu_limit, request * policy.cpu_limit_ratio, (usage.cpu_peak or 0.0) * margin)
    if usage.throttled_share is not None and usage.throttled_share > policy.max_throttled_share:
        raised = current.cpu_limit * policy.throttled_limit_bump
        if raised > limit:
            return raised, [
                f"CPU limit raised x{policy.throttled_limit_bump:g}: throttled in "
                f"{usage.throttled_share:.0%} of CFS periods"
            ]
    return limit, []


def _memory(
    usage: Usage, current: Resources, *, margin: float, policy: RightsizingPolicy, candidate: Usage | None
) -> tuple[float, float, list[str]]:
    assert usage.memory_peak is not None  # has_usage was checked
    notes = []
    wanted = usage.memory_peak * (1.0 + policy.memory_headroom) * margin
    if candidate is not None and candidate.memory_peak is not None:
        # A candidate that completes inherits release.yaml's resources: memory is not compressible,
        # so a limit under its peak would OOM-kill it on the day it becomes stable.
        theirs = candidate.memory_peak * (1.0 + policy.memory_headroom) * margin
        if theirs > wanted:
            wanted = theirs
            notes.append(
                f"memory covers the candidate's peak {quantity.memory_text(candidate.memory_peak)}, "
                "since it inherits these resources when its rollout completes"
            )
    if usage.oom_killed:
        # The kill happened at the limit, which the working set reached between two scrapes.
        killed_at = max(current.memory_limit, usage.memory_peak)
        bumped = max(killed_at * policy.oom_bump_ratio, killed_at + policy.oom_min_bump_mib * quantity.MIB)
        if bumped > wanted:
            wanted = bumped
        notes.append(
            f"OOM kill in the window: memory at least {quantity.memory_text(bumped)} (the killed limit "
            f"{quantity.memory_text(killed_at)} x{policy.oom_bump_ratio:g}, "
            f"at least +{policy.oom_min_bump_mib:g}Mi)"
        )
    wanted = max(wanted, policy.min_memory_mib * quantity.MIB)
    request, limit = wanted, wanted
    small = [
        name
        for name, now in (("request", current.memory_request), ("limit", current.memory_limit))
        if quantity.mebibytes(wanted) < quantity.mebibytes(now) and now - wanted < policy.min_change * now
    ]
    if "request" in small:
        request = current.memory_request
    if "limit" in small:
        limit = current.memory_limit
    if small:
        notes.append(
            f"memory {' and '.join(small)} kept: less than {policy.min_change:.0%} above the recommendation"
        )
    return request, max(limit, request), notes


def recommend(
    usage: Usage,
    current: Resources,
    *,
    policy: RightsizingPolicy,
    sla_ms: float,
    candidate: Usage | None = None,
) -> Recommendation:
    """Stable's requests and limits from its `usage`; refused when the history is too short.

    `sla_ms` is the environment's promotion.latency.p95_ms; `candidate`, a rollout's candidate's
    usage, whose memory peak the recommendation also covers."""
    if not usage.has_usage or usage.history_days < policy.min_history_days:
        return Recommendation(
            current=current,
            recommended=None,
            refused=(
                f"{usage.history_days:.1f} days of usage history ({usage.cpu_samples} CPU samples) in "
                "the window; rightsizing needs "
                f"{policy.min_history_days:g} days (rightsizing.min_history_days)"
            ),
        )
    margin = confidence_margin(usage.history_days, policy=policy)
    cpu_request, cpu_notes = _cpu(usage, current, margin=margin, policy=policy, sla_ms=sla_ms)
    cpu_limit, limit_notes = _cpu_limit(usage, current, cpu_request, margin=margin, policy=policy)
    memory_request, memory_limit, memory_notes = _memory(
        usage, current, margin=margin, policy=policy, candidate=candidate
    )
    recommended = Resources(
        cpu_request=quantity.millicores(cpu_request) / 1000,
        cpu_limit=quantity.millicores(cpu_limit) / 1000,
        memory_request=quantity.mebibytes(memory_request) * quantity.MIB,
        memory_limit=quantity.mebibytes(memory_limit) * quantity.MIB,
    )
    # Values kept as they are keep their exact text (a current "500M" is not rewritten as "477Mi").
    recommended = Resources(
        cpu_request=current.cpu_request if cpu_request == current.cpu_request else recommended.cpu_request,
        cpu_limit=current.cpu_limit if cpu_limit == current.cpu_limit else recommended.cpu_limit,
        memory_request=current.memory_request
        if memory_request == current.memory_request
        else recommended.memory_request,
        memory_limit=current.memory_limit
        if memory_limit == current.memory_limit
        else recommended.memory_limit,
    )
    return Recommendation(
        current=current,
        recommended=recommended,
        notes=(*cpu_notes, *limit_notes, *memory_notes),
        margin=margin,
    )


def candidate_comparison(
    stable: Usage, candidate: Usage, recommended: Resources | None, *, margin: float
) -> list[str]:
    """How the candidate's usage compares with stable's, and whether it would need more CPU than
    recommended (it inherits release.yaml's resources when the rollout completes; memory, which
    cannot be squeezed, is covered by `recommend` itself)."""
    # While a canary runs, stable serves only its share of the traffic: its usage then is low.
    lines = [
        "a candidate ran in the window: while a canary runs, stable's usage reflects only its share of "
        "the traffic"
    ]
    if not candidate.has_usage:
        return [*lines, "candidate: no usage recorded in the window"]
    assert candidate.cpu_percentile is not None and candidate.memory_peak is not None
    for what, theirs, ours, shown in (
        ("CPU percentile", candidate.cpu_percentile, stable.cpu_percentile, quantity.cpu_text),
        ("memory peak", candidate.memory_peak, stable.memory_peak, quantity.memory_text),
    ):
        relative = f" ({theirs / ours - 1:+.0%} against stable's {shown(ours)})" if ours else ""
        lines.append(f"candidate {what}: {shown(theirs)}{relative}")
    if recommended is not None and candidate.cpu_percentile * margin > recommended.cpu_request:
        lines.append(
            "candidate would need more CPU than recommended: re-run rightsize once its rollout completes"
        )
    return lines
