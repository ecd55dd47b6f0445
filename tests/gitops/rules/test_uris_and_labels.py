"""Pure: pinned artifact URIs and the recommended labels."""

import pytest

from modelops.gitops.rules.labels import label_problems
from modelops.gitops.rules.releases import storage_uri_problem

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
    assert label_problems(document) == problems
