"""A canary of two registered versions, written into a copy of the platform's gitops tree by the same
code as `modelops rollout`, rendered with kustomize, and served by MLServer as KServe would serve it.

What runs is what the rendered objects say: each InferenceService's environment (its served name), its
`storageUri` (laid out as the storage initializer leaves /mnt/models), its logger URL (the payload
sink's path names the model, the release and the version) and the HTTPRoute's weights.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.errors import InputError
from modelops.serving.mlserver import RunningServer, running

PLATFORM_FOLDERS = ("environments", "policies", "gitops")


@dataclass(frozen=True)
class ServedRelease:
    role: str  # the pods' `modelops.io/release` label: stable or candidate
    version: str
    weight: int  # its share of the HTTPRoute's traffic, in percent
    inference_service: dict[str, Any]
    storage_uri: str
    digest: str  # what the release pins (modelops.io/artifact-digest): the files served must have it
    logger_url: str  # as the cluster has it: the payload sink's Service, then /payloads/<model>/<role>/<v>

    @property
    def name(self) -> str:
        return str(self.inference_service["metadata"]["name"])


@dataclass(frozen=True)
class Canary:
    model: str
    environment: str
    namespace: str
    path: str  # the HTTPRoute's path prefix: /v2/models/<model>
    releases: tuple[ServedRelease, ...]


def copy_platform(source: Path, destination: Path) -> Path:
    """The files that say what is served and how it is judged, in a folder of their own."""
    for folder in PLATFORM_FOLDERS:
        shutil.copytree(source / folder, destination / folder, ignore=shutil.ignore_patterns(".*"))
    return destination


def write_canary(
    root: Path, *, model: str, environment: str, stable: str, candidate: str, candidate_weight: int
) -> None:
    """`environment`'s overlay of `model` serving `stable`, with `candidate` taking a share of traffic."""
    from modelops.gitops.releases.registered import resolve_release
    from modelops.gitops.releases.transitions import OverlayState, Traffic
    from modelops.gitops.repository import layout
    from modelops.gitops.repository.overlay_files import write_state

    overlay = root / layout.overlay_dir(model, environment)
    texts = {str(p.relative_to(root)): p.read_text() for p in overlay.glob("*.yaml")}
    state = OverlayState(
        stable=resolve_release(model, stable)[0],
        candidate=resolve_release(model, candidate)[0],
        traffic=Traffic(stable=100 - candidate_weight, candidate=candidate_weight),
    )
    for path, text in write_state(texts, model=model, environment=environment, state=state).items():
        if text is None:
            (root / path).unlink()
        else:
            (root / path).write_text(text)


def rendered_canary(root: Path, *, model: str, environment: str) -> Canary:
    """The overlay's releases as kustomize renders them, each with its weight on the model's route."""
    from modelops.gitops.rendering.render import render
    from modelops.gitops.repository import layout

    objects = [
        obj for document in render(root / layout.overlay_dir(model, environment)) for obj in document.objects
    ]
    routes = [o for o in objects if o.get("kind") == "HTTPRoute"]
    if len(routes) != 1 or len(routes[0]["spec"]["rules"]) != 1:
        raise InputError(f"{layout.overlay_dir(model, environment)}: one HTTPRoute with one rule expected")
    [rule] = routes[0]["spec"]["rules"]
    weights = {ref["name"]: int(ref.get("weight", 1)) for ref in rule["backendRefs"]}
    releases = []
    for isvc in (o for o in objects if o.get("kind") == "InferenceService"):
        predictor = isvc["spec"]["predictor"]
        releases.append(
            ServedRelease(
                role=isvc["metadata"]["labels"]["modelops.io/release"],
                version=isvc["metadata"]["annotations"][layout.VERSION_ANNOTATION],
                weight=weights.get(f"{isvc['metadata']['name']}-predictor", 0),
                inference_service=isvc,
                storage_uri=predictor["model"]["storageUri"],
                digest=str(isvc["metadata"]["annotations"].get(layout.DIGEST_ANNOTATION, "")),
                logger_url=predictor["logger"]["url"],
            )
        )
    namespace = str(releases[0].inference_service["metadata"]["namespace"]) if releases else ""
    [match] = rule["matches"]
    return Canary(model, environment, namespace, match["path"]["value"], tuple(releases))


def lay_out(storage_uri: str, destination: Path, *, digest: str) -> Path:
    """The artifact's files in one folder, as the platform's storage initializer leaves /mnt/models:
    verified against the pinned `digest` with the pod's own check before any server opens them."""
    import mlflow

    from modelops.serving.artifact_check import verify_artifact

    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=storage_uri, dst_path=str(destination)))
    verify_artifact(folder, digest=digest, shown_as=storage_uri)
    return folder


@contextlib.contextmanager
def serving(canary: Canary, *, workdir: Path) -> Iterator[Mapping[str, RunningServer]]:
    """Every release of `canary` in its own MLServer, started side by side (each takes a while to load
    mlflow and scikit-learn); every one started is stopped on exit, also when another failed to start.
    """
    lock = threading.Lock()
    with contextlib.ExitStack() as stack:

        def start(release: ServedRelease) -> RunningServer:
            folder = workdir / f"{release.role}-artifact"
            artifact = lay_out(release.storage_uri, folder, digest=release.digest)
            server = running(
                release.inference_service, artifact_dir=artifact, log=workdir / f"mlserver-{release.role}.log"
            )
            started = server.__enter__()
            with lock:
                stack.push(server.__exit__)
            return started

        with ThreadPoolExecutor(max_workers=len(canary.releases) or 1) as pool:
            futures = {release.role: pool.submit(start, release) for release in canary.releases}
        # The pool has waited for every start: a failure now leaves only started servers to stop.
        yield {role: future.result() for role, future in futures.items()}
