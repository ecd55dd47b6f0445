"""Pure: what a rendered environment serves, which releases changed, and the rules on rendered objects."""

from __future__ import annotations

import copy

import pytest

from modelops.gitops.rendering.served import CANDIDATE, STABLE, release_changes, served, serving_spec
from modelops.gitops.rules.manifests import (
    check_environment,
    check_inference_service,
    check_release_files,
    check_route,
)

DIGEST = "sha256:" + "a" * 64
URI = "s3://bucket/1/models/m-" + "b" * 32 + "/artifacts"


def isvc(name: str = "credit-risk", *, version: str = "1", uri: str = URI, digest: str = DIGEST) -> dict:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": "models-dev",
            "labels": {"app.kubernetes.io/name": "credit-risk", "app.kubernetes.io/part-of": "modelops"},
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
                "model": {
                    "modelFormat": {"name": "mlflow"},
                    "protocolVersion": "v2",
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
    assert set(model) == {"modelFormat", "protocolVersion", "storageUri"}
    assert "minReplicas" not in spec["spec"]["predictor"]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["spec"]["predictor"]["model"].update(image="evil:1"), "spec.predictor.model.image"),
        (lambda d: d["spec"]["predictor"]["model"].update(env=[]), "spec.predictor.model.env"),
        (lambda d: d["spec"]["predictor"]["model"].update(command=["sh"]), "spec.predictor.model.command"),
        (lambda d: d["spec"]["predictor"].update(containers=[{"image": "x"}]), "spec.predictor.containers"),
        (lambda d: d["spec"]["predictor"].update(sklearn={"storageUri": URI}), "spec.predictor.sklearn"),
        (lambda d: d["spec"]["predictor"].update(initContainers=[]), "spec.predictor.initContainers"),
        (lambda d: d["spec"].update(explainer={}), "spec.explainer"),
    ],
)
def test_a_field_the_platform_does_not_judge_is_refused(edit, field):
    document = isvc()
    assert check_inference_service(document) == []
    edit(document)
    assert any(
        p.startswith(f"field {field} is not one the platform serves with")
        for p in check_inference_service(document)
    )


def route(*backends: dict, mirror: dict | None = None) -> dict:
    rule: dict = {"backendRefs": list(backends)}
    if mirror:
        rule["filters"] = [{"type": "RequestMirror", "requestMirror": {"backendRef": mirror, "percent": 10}}]
    return {"kind": "HTTPRoute", "metadata": {"name": "credit-risk"}, "spec": {"rules": [rule]}}


def test_a_route_sends_traffic_only_to_the_models_own_services():
    stable = {"name": "credit-risk-predictor", "port": 80, "weight": 90}
    candidate = {"name": "credit-risk-candidate-predictor", "port": 80, "weight": 10}
    assert check_route(route(stable, candidate)) == []
    assert check_route(route({**stable, "weight": 100}, mirror=candidate)) == []
    for stranger in (
        {**candidate, "name": "other-model-predictor"},
        {**candidate, "namespace": "models-prod"},
        {**candidate, "kind": "Backend"},
    ):
        [problem] = check_route(route(stable, stranger))
        assert "is not one of credit-risk's own Services" in problem
    [problem] = check_route(route({**stable, "weight": 100}, mirror={"name": "elsewhere", "port": 80}))
    assert "Service/elsewhere is not one of credit-risk's own Services" in problem


@pytest.mark.parametrize("kind", ["Deployment", "Pod", "ConfigMap", "Secret", "Job", "Service"])
def test_a_kind_no_rule_judges_fails_closed_in_a_models_namespace(kind):
    document = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "namespace": "models-dev"}}
    [finding] = check_environment("dev", "models-dev", [document])
    assert f"no rule judges a {kind} in a models namespace" in finding.message


RELEASE_FILE = f"""apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: credit-risk
  annotations:
    modelops.io/model-version: "1"
    modelops.io/artifact-digest: {DIGEST}
spec:
  predictor:
    model:
      storageUri: {URI}
"""
RELEASE_PATH = "gitops/models/credit-risk/overlays/dev/release.yaml"


def test_the_release_file_must_say_what_the_cluster_serves():
    assert check_release_files("dev", [isvc()], {RELEASE_PATH: RELEASE_FILE}) == []
    elsewhere = URI.replace("b", "e")
    findings = check_release_files("dev", [isvc(uri=elsewhere)], {RELEASE_PATH: RELEASE_FILE})
    assert [(f.where, f.message) for f in findings] == [
        (
            RELEASE_PATH,
            f"says storageUri {URI}, but the rendered InferenceService credit-risk serves {elsewhere}: "
            "another file changes the release",
        )
    ]
    other = copy.deepcopy(isvc(version="7"))
    [finding] = check_release_files("dev", [other], {RELEASE_PATH: RELEASE_FILE})
    assert "says version 1, but the rendered InferenceService credit-risk serves 7" in finding.message


def test_a_rendered_release_without_its_file_is_named():
    [finding] = check_release_files("dev", [isvc("credit-risk-candidate")], {RELEASE_PATH: RELEASE_FILE})
    assert finding.where == "gitops/models/credit-risk/overlays/dev/candidate.yaml"
    assert finding.message == "not found, yet dev renders InferenceService credit-risk-candidate"
