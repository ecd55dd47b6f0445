"""Which releases of a model an environment serves, as the gitops overlay states it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelops.errors import InputError
from modelops.gitops.releases.status import overlay_rows

STABLE, CANDIDATE = "stable", "candidate"


@dataclass(frozen=True)
class LiveRelease:
    """One release the overlay serves: its role (the pods' `modelops.io/release` label, which the
    payload partitions and the Prometheus series carry) and the model version it pins."""

    role: str
    version: str
    # The candidate of a shadow rollout: it answers mirrored copies of stable's requests.
    shadow: bool = False

    @property
    def partitions(self) -> tuple[str, ...]:
        """The `release=` folders its rows are in. The candidate's pods are labelled `candidate`
        in shadow mode too; a sink that names mirrored rows `shadow` is read as well."""
        return (CANDIDATE, "shadow") if self.role == CANDIDATE else (self.role,)


def live_releases(root: Path, *, model: str, environment: str) -> list[LiveRelease]:
    """The releases `model` serves in `environment`: stable, and the candidate of a rollout."""
    rows = [row for row in overlay_rows(root, model) if row.environment == environment]
    if not rows:
        raise InputError(
            f"gitops/models/{model}/overlays/{environment}: not found; {model} is not served in {environment}"
        )
    state = rows[0].state
    releases = [LiveRelease(STABLE, state.stable.version)]
    if state.candidate is not None:
        releases.append(LiveRelease(CANDIDATE, state.candidate.version, shadow=state.traffic.mirror > 0))
    return releases
