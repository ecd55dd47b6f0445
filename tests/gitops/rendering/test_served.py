"""Pure: what a rendered environment serves, and which releases changed."""

from __future__ import annotations

import pytest

from modelops.gitops.rendering.served import CANDIDATE, STABLE, release_changes, served, serving_spec
from modelops.serving import contract

DIGEST = "sha256:" + "a" * 64
URI = "s3://bucket/1/models/m-" + "b" * 32 + "/artifacts"


def isvc(name: str = "credit-risk", *, version: str = "1", uri: str = URI, digest: str = DIGEST) -> dict:
    release = contract.CANDIDATE if name.endswith("-candidate") else contract.STABLE
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": "models-dev",
            "labels": {
                "app.kubernetes.io/name": "credit-risk",
                "app.kubernetes.io/part-of": "modelops",
                "modelops.io/release": release,
            },
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "modelops.io/model-version": version,
                "modelops.io/artifact-digest": digest,
                "argocd.argoproj.io/sync-wave": "0",
            },
        },
        "spec": {
            "predictor": {
                "serviceAccountName": "credit-risk",
                "minReplicas": 1,
                "maxReplicas": 1,
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "labels": {"modelops.io/model": "credit-risk", "modelops.io/release": release},
                "logger": contract.payload_logger(model="credit-risk", release=release, version=version),
                "model": {
                    "modelFormat": {"name": "mlflow"},
                    "protocolVersion": "v2",
                    "runtime": contract.RUNTIME,
                    "env": contract.served_model_env("credit-risk"),
                    "storageUri": uri,
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "runAsNonRoot": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                },
            }
        },
    }


def changes(base: list[dict], head: list[dict]) -> list[tuple[str, str, tuple[str, ...]]]:
    found = release_changes(served("dev", base), served("dev", head))
    return [(c.model, c.head.track, c.fields) for c in found]


def test_the_same_render_changes_no_release():
    assert changes([isvc()], [isvc()]) == []


def test_scale_resources_and_argo_annotations_are_no_release():
    head = isvc()
    predictor = head["spec"]["predictor"]
    predictor["minReplicas"], predictor["maxReplicas"] = 3, 6
    predictor["model"]["resources"]["limits"]["memory"] = "2Gi"
    head["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "5"
    assert changes([isvc()], [head]) == []


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["spec"]["predictor"]["model"].update(storageUri=URI.replace("b", "c")), "storageUri"),
        (lambda d: d["metadata"]["annotations"].update({"modelops.io/model-version": "2"}), "model-version"),
        (lambda d: d["metadata"]["annotations"].update({"modelops.io/artifact-digest": "x"}), "digest"),
        (lambda d: d["spec"]["predictor"]["model"].update(runtime="another-runtime"), "model.runtime"),
        (lambda d: d["spec"]["predictor"]["model"].update(image="evil:latest"), "model.image"),
        (lambda d: d["spec"]["predictor"]["model"].update(env=[{"name": "X", "value": "1"}]), "model.env"),
        (lambda d: d["spec"]["predictor"]["model"].update(args=["--x"]), "model.args"),
        (lambda d: d["spec"]["predictor"]["model"]["modelFormat"].update(name="sklearn"), "modelFormat"),
        (lambda d: d["spec"].update(transformer={"containers": [{"image": "x"}]}), "spec.transformer"),
    ],
)
def test_every_serving_field_is_a_release_change(edit, field):
    head = isvc()
    edit(head)
    [(model, track, fields)] = changes([isvc()], [head])
    assert (model, track) == ("credit-risk", STABLE)
    assert any(field in f for f in fields), fields


def test_a_new_release_and_a_candidate_are_changes_on_their_own_tracks():
    assert changes([], [isvc()]) == [("credit-risk", STABLE, ("new",))]
    candidate = isvc("credit-risk-candidate", version="2")
    assert changes([isvc()], [isvc(), candidate]) == [("credit-risk", CANDIDATE, ("new",))]


def test_the_serving_spec_keeps_what_answers_and_drops_what_scales():
    spec = serving_spec(isvc())
    assert spec["metadata.annotations"] == {
        "serving.kserve.io/deploymentMode": "RawDeployment",
        "modelops.io/model-version": "1",
        "modelops.io/artifact-digest": DIGEST,
    }
    model = spec["spec"]["predictor"]["model"]
    assert set(model) == {"modelFormat", "protocolVersion", "storageUri", "runtime", "env"}
    assert "logger" in spec["spec"]["predictor"]  # where payloads go is part of what answers
    assert "minReplicas" not in spec["spec"]["predictor"]
