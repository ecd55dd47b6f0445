"""What a rendered environment serves, and which releases changed between two renders.

The gate judges what the cluster will apply: the InferenceServices kustomize renders, whatever
file set their fields (an overlay's release.yaml, another patch, the model's base or components,
the environment's kustomization). Pure functions over rendered objects; rendering is elsewhere.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelops.gitops.releases.transitions import OverlayState, Release, Traffic
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import traffic_of
from modelops.serving import contract
from modelops.serving.contract import CANDIDATE, STABLE

# Fields of an InferenceService that change how many pods run, where, and with what limits, but
# never what answers: which artifact, which runtime, which code. Everything else in `spec`, and
# KServe's and this platform's annotations, is the serving spec, so a field no one listed here
# (a new KServe feature, a transformer, an env var) counts as a release change: fail closed.
OPERATIONAL_FIELDS = (
    ("predictor", "minReplicas"),
    ("predictor", "maxReplicas"),
    ("predictor", "scaleTarget"),
    ("predictor", "scaleMetric"),
    ("predictor", "scaleMetricType"),
    ("predictor", "labels"),
    ("predictor", "securityContext"),
    ("predictor", "serviceAccountName"),
    ("predictor", "nodeSelector"),
    ("predictor", "tolerations"),
    ("predictor", "affinity"),
    ("predictor", "topologySpreadConstraints"),
    ("predictor", "priorityClassName"),
    ("predictor", "model", "resources"),
    ("predictor", "model", "securityContext"),
)
SERVING_ANNOTATIONS = ("serving.kserve.io/", "modelops.io/")


@dataclass(frozen=True)
class Served:
    """One rendered InferenceService: the release it pins and the spec it serves that release with."""

    environment: str
    model: str
    track: str  # STABLE or CANDIDATE
    release: Release
    serving_spec: Mapping[str, Any]


@dataclass(frozen=True)
class ReleaseChange:
    """A release the head serves differently from the base: new, re-pinned, or served another way."""

    head: Served
    base: Served | None  # the same model and track at the base, when it served one
    fields: tuple[str, ...]  # which parts of the serving spec changed ("new" for a new release)

    @property
    def model(self) -> str:
        return self.head.model

    @property
    def environment(self) -> str:
        return self.head.environment


def _annotations(document: Mapping[str, Any]) -> Mapping[str, Any]:
    annotations = (document.get("metadata") or {}).get("annotations") or {}
    return annotations if isinstance(annotations, Mapping) else {}


def serving_spec(document: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an InferenceService that decide what answers a request."""
    spec = copy.deepcopy(dict(document.get("spec") or {}))
    for path in OPERATIONAL_FIELDS:
        parent: Any = spec
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    annotations = {
        key: value for key, value in _annotations(document).items() if key.startswith(SERVING_ANNOTATIONS)
    }
    return {"metadata.annotations": annotations, "spec": spec}


def rendered_release(document: Mapping[str, Any]) -> Release:
    annotations = _annotations(document)
    model = ((document.get("spec") or {}).get("predictor") or {}).get("model") or {}
    return Release(
        version=str(annotations.get(layout.VERSION_ANNOTATION, "")),
        storage_uri=str(model.get("storageUri", "") if isinstance(model, Mapping) else ""),
        digest=str(annotations.get(layout.DIGEST_ANNOTATION, "")),
    )


def track_of(name: str) -> tuple[str, str]:
    """(model, track) an InferenceService's name stands for."""
    return contract.release_of(name)


def served(environment: str, documents: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Served]:
    """{(model, track): Served} for every InferenceService rendered for `environment`."""
    found: dict[tuple[str, str], Served] = {}
    for document in documents:
        if document.get("kind") != "InferenceService":
            continue
        model, track = track_of(str((document.get("metadata") or {}).get("name", "")))
        found[(model, track)] = Served(
            environment, model, track, rendered_release(document), serving_spec(document)
        )
    return found


def changed_fields(base: Any, head: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two serving specs differ, down to the first differing mapping key."""
    if isinstance(base, Mapping) and isinstance(head, Mapping):
        paths = []
        for key in sorted(set(base) | set(head), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in base or key not in head:
                paths.append(where)
            else:
                paths += changed_fields(base[key], head[key], where)
        return paths
    return [] if base == head else [prefix or "(whole object)"]


def release_changes(
    base: Mapping[tuple[str, str], Served], head: Mapping[tuple[str, str], Served]
) -> list[ReleaseChange]:
    """Every release at `head` that is new, or whose serving spec differs from `base`'s on its track."""
    changes = []
    for key in sorted(head):
        before = base.get(key)
        if before is None:
            changes.append(ReleaseChange(head[key], None, ("new",)))
        elif fields := changed_fields(before.serving_spec, head[key].serving_spec):
            changes.append(ReleaseChange(head[key], before, tuple(fields)))
    return changes


def routes(documents: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """{model: its rendered HTTPRoute}."""
    return {
        str((d.get("metadata") or {}).get("name", "")): d for d in documents if d.get("kind") == "HTTPRoute"
    }


def overlay_state(
    model: str, releases: Mapping[tuple[str, str], Served], route: Mapping[str, Any] | None
) -> OverlayState | None:
    """What one model serves in one rendered environment (None when it serves no stable release)."""
    stable = releases.get((model, STABLE))
    if stable is None:
        return None
    candidate = releases.get((model, CANDIDATE))
    return OverlayState(
        stable=stable.release,
        candidate=candidate.release if candidate else None,
        traffic=traffic_of(route, f"the rendered HTTPRoute {model}", model) if route else Traffic(0, 0, 0),
    )
