"""Stable and candidate answer on the route's path: real MLServer processes, started as KServe starts
them from the rendered InferenceServices, serving the registered artifacts as the storage initializer
lays them out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import OverlayState, Traffic
from modelops.gitops.rendering.render import render
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import write_state
from modelops.serving import contract
from modelops.serving.mlserver import Ports, infer, kserve_environment, running
from modelops.serving.v2 import request_from_frame

pytestmark = pytest.mark.slow


def _canary(root: Path, *, model: str, environment: str, stable: str, candidate: str) -> list[dict]:
    """The environment's objects, rendered by kustomize, with `candidate` taking a tenth of the traffic."""
    overlay = root / layout.overlay_dir(model, environment)
    texts = {str(p.relative_to(root)): p.read_text() for p in overlay.glob("*.yaml")}
    state = OverlayState(
        stable=resolve_release(model, stable)[0],
        candidate=resolve_release(model, candidate)[0],
        traffic=Traffic(stable=90, candidate=10),
    )
    for path, text in write_state(texts, model=model, environment=environment, state=state).items():
        if text is None:
            (root / path).unlink()
        else:
            (root / path).write_text(text)
    return [obj for document in render(overlay) for obj in document.objects]


def _lay_out(storage_uri: str, destination: Path) -> Path:
    """The artifact's files in one folder, as KServe's storage initializer leaves /mnt/models."""
    import mlflow

    return Path(mlflow.artifacts.download_artifacts(artifact_uri=storage_uri, dst_path=str(destination)))


def test_a_release_without_the_served_name_would_answer_to_its_own_name():
    # What KServe does when the predictor leaves the name out: the candidate's name, not the route's.
    candidate = {"metadata": {"name": "credit-risk-candidate"}, "spec": {"predictor": {"model": {}}}}
    environment = kserve_environment(candidate, model_dir=Path("/models"), ports=Ports(1, 2, 3))
    assert environment[contract.MODEL_NAME_ENV] == "credit-risk-candidate"
    assert environment[contract.MODEL_URI_ENV] == "/models"
    assert environment["MLSERVER_MODEL_IMPLEMENTATION"] == "mlserver_mlflow.MLflowRuntime"


def test_stable_and_candidate_both_answer_on_the_routes_path(
    gitops_repo, demo_versions, german_credit, serving_runtime, tmp_path
):
    from modelops.config import load_model_policy
    from modelops.pipeline.scoring import positive_scores
    from modelops.registry.versions import VersionRef, fetch_version, load_verified_model

    objects = _canary(
        gitops_repo.root,
        model="credit-risk",
        environment="dev",
        stable=demo_versions.champion,
        candidate=demo_versions.better,
    )
    [route] = [o for o in objects if o["kind"] == "HTTPRoute"]
    [rule] = route["spec"]["rules"]
    [match] = rule["matches"]
    path = match["path"]["value"]
    services = {o["metadata"]["name"] + "-predictor": o for o in objects if o["kind"] == "InferenceService"}
    backends = [ref["name"] for ref in rule["backendRefs"]]
    assert backends == ["credit-risk-predictor", "credit-risk-candidate-predictor"]

    policy = load_model_policy("credit-risk")
    rows = german_credit.evaluation.drop(columns=[policy.label]).head(5)
    for backend in backends:
        isvc = services[backend]
        release = isvc["metadata"]["labels"]["modelops.io/release"]
        version = isvc["metadata"]["annotations"][layout.VERSION_ANNOTATION]
        artifact = _lay_out(isvc["spec"]["predictor"]["model"]["storageUri"], tmp_path / release)
        with running(isvc, artifact_dir=artifact, log=tmp_path / f"{release}.log") as server:
            status, answer = infer(f"{server.url}{path}/infer", request_from_frame(rows))
        assert status == 200, (backend, answer)
        [output] = answer["outputs"]
        served = np.asarray(output["data"], dtype=float).reshape(output["shape"])
        # The endpoint answers what the gate scored: the positive class's probability, row for row.
        fetched = fetch_version(VersionRef("credit-risk", version), tmp_path / f"{release}-fetched")
        model = load_verified_model(fetched, policy.trusted_types)
        gated = positive_scores(model, rows, positive_class=policy.positive_class, what=backend)
        column = [str(c) for c in model.classes_].index(str(policy.positive_class))
        np.testing.assert_allclose(served[:, column], gated, rtol=1e-9)
