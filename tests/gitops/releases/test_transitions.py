"""Pure rules: pinned artifact URIs and the rollout transitions."""

import pytest

from modelops.config.environment import RolloutPolicy
from modelops.errors import InputError
from modelops.gitops.releases import transitions as st
from modelops.gitops.rules.manifests import check_labels, storage_uri_problem

MODEL_ID = "m-" + "a" * 32


@pytest.mark.parametrize(
    "uri",
    [
        f"s3://bucket/1/models/{MODEL_ID}/artifacts",
        f"gs://bucket/runs/{'b' * 32}/artifacts/model",
        f"file:///var/mlflow/artifacts/3/models/{MODEL_ID}/artifacts",
        "https://store.example.org/models/sha256:" + "c" * 64,
    ],
)
def test_pinned_uris_pass(uri):
    assert storage_uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("models:/credit-risk@champion", "mutable"),
        ("models:/credit-risk/3", "mutable"),
        (f"s3://bucket/latest/{MODEL_ID}", "mutable"),
        ("s3://bucket/credit-risk/model", "names no run id"),
        (f"pvc://volume/{MODEL_ID}", "not an artifact location"),
        (f"http://store/{MODEL_ID}", "not an artifact location"),
        ("", "no storageUri"),
    ],
)
def test_mutable_or_unpinned_uris_fail(uri, why):
    assert why in (storage_uri_problem(uri) or "")


CANARY = RolloutPolicy(strategy="canary", steps=[10, 25, 50])
V1, V2 = st.Release("1", "s3://b/1", "sha256:1"), st.Release("2", "s3://b/2", "sha256:2")


def test_direct_promotion_replaces_stable():
    assert st.promote(st.OverlayState(V1), V2, RolloutPolicy(), where="x") == st.OverlayState(V2)


def test_canary_walks_its_steps_then_completes():
    state = st.promote(st.OverlayState(V1), V2, CANARY, where="x")
    assert (state.traffic.stable, state.traffic.candidate) == (90, 10)
    state = st.step(st.step(state, CANARY, where="x"), CANARY, where="x")
    assert state.traffic.candidate == 50
    with pytest.raises(InputError, match="the last step"):
        st.step(state, CANARY, where="x")
    assert st.complete(state, where="x") == st.OverlayState(V2)


def test_abort_and_shadow_need_a_rollout():
    with pytest.raises(InputError, match="no rollout in progress"):
        st.abort(st.OverlayState(V1), where="x")
    with pytest.raises(InputError, match="no rollout in progress"):
        st.shadow(st.OverlayState(V1), 10, where="x")
    rolling = st.promote(st.OverlayState(V1), V2, CANARY, where="x")
    assert st.abort(rolling, where="x") == st.OverlayState(V1)
    assert st.shadow(rolling, 30, where="x").traffic == st.Traffic(100, 0, 30)


def test_a_second_promotion_waits_for_the_rollout():
    rolling = st.promote(st.OverlayState(V1), V2, CANARY, where="x")
    with pytest.raises(InputError, match="in progress"):
        st.promote(rolling, st.Release("3", "s3://b/3", "sha256:3"), CANARY, where="x")


def test_promoting_what_already_runs_is_refused():
    with pytest.raises(InputError, match="already the stable release"):
        st.promote(st.OverlayState(V1), V1, RolloutPolicy(), where="x")


def _object(kind: str, name: str, labels: dict[str, str]) -> dict:
    return {"kind": kind, "metadata": {"name": name, "labels": labels}}


def _policy(labels: dict[str, str], guards: str) -> dict:
    policy = _object("NetworkPolicy", f"{guards}-ingress", labels)
    return policy | {"spec": {"podSelector": {"matchLabels": {"modelops.io/model": guards}}}}


LABELLED = {"app.kubernetes.io/name": "credit-risk", "app.kubernetes.io/part-of": "modelops"}


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        (_object("InferenceService", "credit-risk-candidate", LABELLED), []),
        (_policy(LABELLED, guards="credit-risk"), []),
        (
            _policy(LABELLED, guards="scorecard"),
            ["label app.kubernetes.io/name is credit-risk, but this policy guards scorecard's pods"],
        ),
        (
            _object("NetworkPolicy", "everything", LABELLED),
            [
                "label app.kubernetes.io/name is credit-risk, "
                "but this policy selects no model's pods (modelops.io/model)"
            ],
        ),
        (
            _object("ServiceAccount", "credit-risk", {}),
            [
                "label app.kubernetes.io/part-of must be modelops",
                "label app.kubernetes.io/name must name the model",
            ],
        ),
        (
            _object("HTTPRoute", "scorecard", LABELLED),
            ["label app.kubernetes.io/name is credit-risk, but this is scorecard's"],
        ),
    ],
    ids=[
        "candidate",
        "policy",
        "policy copied from another model",
        "policy of no model",
        "unlabelled",
        "copied from another model",
    ],
)
def test_each_model_object_carries_the_recommended_labels(document, problems):
    assert check_labels(document) == problems
