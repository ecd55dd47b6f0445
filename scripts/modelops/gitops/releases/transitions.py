"""What one model runs in one environment, and the pure transitions a rollout goes through.

An overlay holds a stable release, at most one candidate release, and the traffic
between them. Every command that moves a release is one of these functions; the files
and the git commit around them are elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from modelops.config.environment import RolloutPolicy
from modelops.errors import InputError
from modelops.rollouts.plan_schedule import Schedule


@dataclass(frozen=True)
class Release:
    version: str
    storage_uri: str
    digest: str


@dataclass(frozen=True)
class Traffic:
    stable: int = 100
    candidate: int = 0
    mirror: int = 0  # shadow: percent of requests copied to the candidate, answers discarded


@dataclass(frozen=True)
class OverlayState:
    stable: Release
    candidate: Release | None = None
    traffic: Traffic = Traffic()
    plan: Schedule | None = None  # the rollout's own schedule, when promote planned one

    @property
    def rollout_in_progress(self) -> bool:
        return self.candidate is not None


def describe(state: OverlayState) -> str:
    """'stable v3 (75%), candidate v4 (25%)': what serves, and its share of the traffic."""
    line = f"stable v{state.stable.version} ({state.traffic.stable}%)"
    if state.candidate:
        share = (
            f"{state.traffic.candidate}%" if not state.traffic.mirror else f"shadow {state.traffic.mirror}%"
        )
        line += f", candidate v{state.candidate.version} ({share})"
    return line


def promote(
    state: OverlayState, release: Release, policy: RolloutPolicy, *, where: str, plan: Schedule | None = None
) -> OverlayState:
    """A new release enters: replacing stable (direct) or as the candidate at the first step (canary) of
    `plan`, when one is given, else of the policy; the plan stays with the rollout."""
    if state.candidate is not None:
        raise InputError(
            f"{where}: a rollout of version {state.candidate.version} is in progress; "
            "complete or abort it first"
        )
    if release.version == state.stable.version and release.digest == state.stable.digest:
        raise InputError(f"{where}: version {release.version} is already the stable release")
    if policy.strategy == "direct":
        return OverlayState(stable=release)
    first = plan.steps[0] if plan else policy.steps[0]
    return OverlayState(
        stable=state.stable, candidate=release, traffic=Traffic(100 - first, first), plan=plan
    )


def _require_rollout(state: OverlayState, where: str) -> Release:
    if state.candidate is None:
        raise InputError(f"{where}: no rollout in progress")
    return state.candidate


def step(state: OverlayState, policy: RolloutPolicy, *, where: str) -> OverlayState:
    """The candidate's traffic moves to the next step of the rollout's plan, or else of the policy."""
    _require_rollout(state, where)
    steps = state.plan.steps if state.plan else policy.steps
    later = [s for s in steps if s > state.traffic.candidate]
    if not later:
        raise InputError(
            f"{where}: the candidate already takes {state.traffic.candidate}%, the last step; run complete"
        )
    return replace(state, traffic=Traffic(100 - later[0], later[0]))


def complete(state: OverlayState, *, where: str) -> OverlayState:
    """The candidate becomes the stable release and takes all traffic."""
    return OverlayState(stable=_require_rollout(state, where))


def abort(state: OverlayState, *, where: str) -> OverlayState:
    """The candidate leaves; stable takes all traffic again."""
    _require_rollout(state, where)
    return OverlayState(stable=state.stable)


def shadow(state: OverlayState, percent: int, *, where: str) -> OverlayState:
    """Stable answers every request; `percent` of them are mirrored to the candidate."""
    _require_rollout(state, where)
    if not 0 < percent <= 100:
        raise InputError(f"{where}: shadow percent must be between 1 and 100, not {percent}")
    return replace(state, traffic=Traffic(100, 0, percent))


def rollback(state: OverlayState, previous: Release, *, where: str) -> OverlayState:
    """Restore an earlier stable release; any rollout in progress is dropped with it."""
    if previous.version == state.stable.version and previous.digest == state.stable.digest:
        raise InputError(f"{where}: version {previous.version} is already the stable release")
    return OverlayState(stable=previous)


def _same(a: Release, b: Release) -> bool:
    return (a.version, a.digest) == (b.version, b.digest)


def stable_lineage(history: Sequence[Release]) -> list[Release]:
    """The stable releases one could fall back through, oldest first, given every stable release an
    overlay has had (oldest first).

    A change back to the release just below the top is a rollback: it pops rather than pushes, so
    a second rollback keeps going back instead of returning to the release the first one left.
    """
    lineage: list[Release] = []
    for release in history:
        if lineage and _same(lineage[-1], release):
            continue
        if len(lineage) >= 2 and _same(lineage[-2], release):
            lineage.pop()
            continue
        lineage.append(release)
    return lineage
