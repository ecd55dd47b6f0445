"""Which releases of a model an environment serves: one rule over an overlay's state, whether that state
is read from the gitops overlay in the working tree (a laptop) or from the objects the cluster applied
(the CronJob, through the Kubernetes API)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.errors import InputError
from modelops.gitops.releases.status import overlay_rows
from modelops.gitops.releases.transitions import OverlayState, Traffic
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import release_of, traffic_of

STABLE, CANDIDATE = "stable", "candidate"
INFERENCE_SERVICE, HTTP_ROUTE = "InferenceService", "HTTPRoute"


@dataclass(frozen=True)
class LiveRelease:
    """One release the overlay serves: its role (the pods' `modelops.io/release` label, which the
    payload partitions and the Prometheus series carry) and the model version it pins."""

    role: str
    version: str
    # The candidate of a shadow rollout: it answers mirrored copies of stable's requests.
    shadow: bool = False
    # The artifact digest the overlay pins: the reference is scored with those files, the ones the pods
    # serve, not whatever the version's tags name now. None: the version's own digest tag.
    digest: str | None = None

    @property
    def partitions(self) -> tuple[str, ...]:
        """The `release=` folders its rows are in. The candidate's pods are labelled `candidate`
        in shadow mode too, and the sink takes no other release."""
        return (self.role,)


def releases_of(state: OverlayState) -> list[LiveRelease]:
    """Stable, and the candidate of a rollout: a shadow one when the route mirrors traffic to it."""
    releases = [LiveRelease(STABLE, state.stable.version, digest=state.stable.digest)]
    if state.candidate is not None:
        shadow = state.traffic.mirror > 0
        releases.append(
            LiveRelease(CANDIDATE, state.candidate.version, shadow=shadow, digest=state.candidate.digest)
        )
    return releases


def live_releases(root: Path, *, model: str, environment: str) -> list[LiveRelease]:
    """The releases `model` serves in `environment`, as the working tree's overlay states them."""
    rows = [row for row in overlay_rows(root, model) if row.environment == environment]
    if not rows:
        raise InputError(
            f"gitops/models/{model}/overlays/{environment}: not found; {model} is not served in {environment}"
        )
    return releases_of(rows[0].state)


def state_from_objects(objects: Iterable[Mapping[str, Any]], *, model: str, where: str) -> OverlayState:
    """The overlay state that rendered or applied objects amount to: the InferenceService named for the
    model (stable), the one named for its candidate, and the model's HTTPRoute (weights and mirror).

    `objects` may hold anything else of the namespace (other models, other kinds); `where` names the
    source in messages. The annotations are the ones `modelops promote` writes and the gate checks.
    """
    by_name: dict[tuple[str, str], Mapping[str, Any]] = {}
    for obj in objects:
        name = str((obj.get("metadata") or {}).get("name", ""))
        by_name[(str(obj.get("kind", "")), name)] = obj
    stable = by_name.get((INFERENCE_SERVICE, model))
    if stable is None:
        raise InputError(f"{where}: no InferenceService {model}; {model} is not served there")
    candidate = by_name.get((INFERENCE_SERVICE, layout.candidate_name(model)))
    route = by_name.get((HTTP_ROUTE, model))
    if candidate is not None and route is None:
        # Without the route, a candidate's share (or shadow) is unknown: never guessed.
        raise InputError(
            f"{where}: InferenceService {layout.candidate_name(model)} runs, but no HTTPRoute {model}"
        )
    return OverlayState(
        stable=release_of(stable, f"{where}: InferenceService {model}"),
        candidate=None
        if candidate is None
        else release_of(candidate, f"{where}: InferenceService {layout.candidate_name(model)}"),
        traffic=Traffic() if route is None else traffic_of(route, f"{where}: HTTPRoute {model}", model),
    )
