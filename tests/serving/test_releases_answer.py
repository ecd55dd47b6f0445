"""Stable and candidate answer on the route's path: real MLServer processes, started as KServe starts
them from the rendered InferenceServices, serving the registered artifacts as the storage initializer
lays them out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelops.demo.canary import lay_out, rendered_canary, write_canary
from modelops.serving import contract
from modelops.serving.mlserver import Ports, infer, kserve_environment, running
from modelops.serving.v2 import request_from_frame

pytestmark = pytest.mark.slow


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

    write_canary(
        gitops_repo.root,
        model="credit-risk",
        environment="dev",
        stable=demo_versions.champion,
        candidate=demo_versions.better,
        candidate_weight=10,
    )
    canary = rendered_canary(gitops_repo.root, model="credit-risk", environment="dev")
    # The route sends the model's path to both releases' Services, by weight.
    assert canary.path == "/v2/models/credit-risk"
    assert {(r.role, r.weight) for r in canary.releases} == {("stable", 90), ("candidate", 10)}

    policy = load_model_policy("credit-risk")
    rows = german_credit.evaluation.drop(columns=[policy.label]).head(5)
    for release in canary.releases:
        isvc = release.inference_service
        artifact = lay_out(release.storage_uri, tmp_path / release.role, digest=release.digest)
        with running(isvc, artifact_dir=artifact, log=tmp_path / f"{release.role}.log") as server:
            status, answer = infer(f"{server.url}{canary.path}/infer", request_from_frame(rows))
        assert status == 200, (release.role, answer)
        [output] = answer["outputs"]
        served = np.asarray(output["data"], dtype=float).reshape(output["shape"])
        # The endpoint answers what the gate scored: the positive class's probability, row for row.
        fetched = fetch_version(
            VersionRef("credit-risk", release.version), tmp_path / f"{release.role}-fetched"
        )
        model = load_verified_model(fetched, policy.trusted_types)
        gated = positive_scores(model, rows, positive_class=policy.positive_class, what=release.role)
        column = [str(c) for c in model.classes_].index(str(policy.positive_class))
        np.testing.assert_allclose(served[:, column], gated, rtol=1e-9)


def test_servers_started_side_by_side_never_share_a_port():
    # A canary's two releases start at once; MLServer that finds its port taken never answers.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        handed = [p for ports in pool.map(lambda _: Ports.free(), range(40)) for p in vars(ports).values()]
    assert len(handed) == len(set(handed)) == 120


def test_the_demo_lays_out_only_files_that_have_the_pinned_digest(demo_versions, tmp_path):
    """The canary demo starts MLServer (pickle deserialization allowed) on what it lays out: the pod's
    check runs first, as the platform's storage initializer runs it."""
    from modelops.errors import InputError
    from modelops.gitops.releases.registered import resolve_release

    release, _ = resolve_release("credit-risk", demo_versions.champion)
    assert lay_out(release.storage_uri, tmp_path / "pinned", digest=release.digest).is_dir()
    other = "sha256:" + "0" * 64
    with pytest.raises(InputError, match=f"not the pinned {other}"):
        lay_out(release.storage_uri, tmp_path / "other", digest=other)
