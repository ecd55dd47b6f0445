"""Pure: the platform's rules on rendered objects, as validate and the pull-request gate call them."""

from __future__ import annotations

import copy

import pytest

from modelops.gitops.rules.catalogue import object_problems
from modelops.gitops.rules.environment import check_environment
from modelops.gitops.rules.release_files import check_release_files
from tests.gitops.rendering.test_served import DIGEST, URI, isvc


def messages(document: dict) -> list[str]:
    return [problem for _, problem in object_problems(document)]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["spec"]["predictor"]["model"].update(image="evil:1"), "spec.predictor.model.image"),
        (lambda d: d["spec"]["predictor"]["model"].update(args=["--debug"]), "spec.predictor.model.args"),
        (lambda d: d["spec"]["predictor"]["model"].update(command=["sh"]), "spec.predictor.model.command"),
        (lambda d: d["spec"]["predictor"].update(containers=[{"image": "x"}]), "spec.predictor.containers"),
        (lambda d: d["spec"]["predictor"].update(sklearn={"storageUri": URI}), "spec.predictor.sklearn"),
        (lambda d: d["spec"]["predictor"].update(initContainers=[]), "spec.predictor.initContainers"),
        (lambda d: d["spec"].update(explainer={}), "spec.explainer"),
    ],
)
def test_a_field_the_platform_does_not_judge_is_refused(edit, field):
    document = isvc()
    assert messages(document) == []
    edit(document)
    assert any(p.startswith(f"field {field} is not one the platform serves with") for p in messages(document))


MODEL_NAME = "MLSERVER_MODEL_NAME"
SINK = "http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads"


@pytest.mark.parametrize(
    ("env", "why"),
    [
        (None, "no env: KServe would name the model credit-risk-candidate"),
        ([], "an empty env: the same"),
        ([{"name": MODEL_NAME, "value": "credit-risk-candidate"}], "the candidate's own name"),
        (
            [{"name": MODEL_NAME, "value": "credit-risk"}, {"name": "MLSERVER_MODEL_URI", "value": "/tmp/x"}],
            "more",
        ),
        (
            [{"name": MODEL_NAME, "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}}],
            "from elsewhere",
        ),
    ],
)
def test_a_candidate_answers_to_the_models_name_and_nothing_else_in_its_env(env, why):
    document = isvc("credit-risk-candidate")
    assert messages(document) == []
    if env is None:
        del document["spec"]["predictor"]["model"]["env"]
    else:
        document["spec"]["predictor"]["model"]["env"] = env
    assert any(
        p.startswith("model env must be exactly MLSERVER_MODEL_NAME=credit-risk") for p in messages(document)
    ), why


@pytest.mark.parametrize("runtime", [None, "kserve-mlserver", "modelops-mlserver-debug"])
def test_a_release_runs_on_the_platforms_runtime_only(runtime):
    document = isvc()
    document["spec"]["predictor"]["model"].pop("runtime")
    if runtime:
        document["spec"]["predictor"]["model"]["runtime"] = runtime
    assert "model runtime must be modelops-mlserver, the platform's pinned MLServer" in messages(document)


@pytest.mark.parametrize(
    ("logger", "labels"),
    [
        (None, {}),
        ({"mode": "all", "url": "http://attacker.example/payloads/credit-risk/stable/1"}, {}),
        (
            {
                "mode": "request",
                "url": "http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads/credit-risk/stable/1",
            },
            {},
        ),
        # Rows logged under another version or release would be judged against the wrong reference.
        (
            {
                "mode": "all",
                "url": "http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads/credit-risk/stable/2",
            },
            {},
        ),
        (
            {
                "mode": "all",
                "url": "http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads/credit-risk/candidate/1",
            },
            {},
        ),
        (
            {
                "mode": "all",
                "url": "http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads/credit-risk/stable/1",
            },
            {"modelops.io/release": "candidate"},
        ),
    ],
)
def test_payloads_are_logged_to_the_sink_under_the_release_and_version_the_gate_judged(logger, labels):
    document = isvc()
    assert messages(document) == []
    document["metadata"]["labels"].update(labels)
    if logger is None:
        del document["spec"]["predictor"]["logger"]
    else:
        document["spec"]["predictor"]["logger"] = logger
    # A relabelled release is refused for the label itself: its role is what its name says.
    wanted = (
        "predictor logger must be mode all to http://payload-sink.",
        "label modelops.io/release must be",
    )
    assert any(p.startswith(wanted) for p in messages(document))


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("metadata", "labels"), "stable"),  # the candidate, calling itself stable
        (("spec", "predictor", "labels"), "stable"),  # what the PodMonitor charts it as
        (("metadata", "labels"), "shadow"),
    ],
)
def test_a_candidate_cannot_log_or_chart_as_another_release(where, value):
    document = isvc("credit-risk-candidate")
    assert messages(document) == []
    node = document
    for key in where:
        node = node[key]
    node["modelops.io/release"] = value
    document["spec"]["predictor"]["logger"]["url"] = f"{SINK}/credit-risk/{value}/1"
    assert any("modelops.io/release must be candidate, as its name says" in p for p in messages(document))


@pytest.mark.parametrize("version", ["07", "\u0667", "1\n", "-1", "0", ""])  # \u0667: Arabic-Indic 7
def test_a_version_is_the_registrys_number_and_nothing_that_looks_like_one(version):
    document = isvc(version=version)
    assert any("registered version" in p for p in messages(document)), version


def test_a_digest_with_a_trailing_newline_is_refused_as_the_initializer_refuses_it():
    document = isvc()
    document["metadata"]["annotations"]["modelops.io/artifact-digest"] += "\n"
    assert any(p.startswith("annotation modelops.io/artifact-digest must be") for p in messages(document))


def route(*backends: dict, mirror: dict | None = None) -> dict:
    rule: dict = {"backendRefs": list(backends)}
    if mirror:
        rule["filters"] = [{"type": "RequestMirror", "requestMirror": {"backendRef": mirror, "percent": 10}}]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "credit-risk"},
        "spec": {"rules": [rule]},
    }


def test_a_route_sends_traffic_only_to_the_models_own_services():
    stable = {"name": "credit-risk-predictor", "port": 80, "weight": 90}
    candidate = {"name": "credit-risk-candidate-predictor", "port": 80, "weight": 10}
    assert messages(route(stable, candidate)) == []
    assert messages(route({**stable, "weight": 100}, mirror=candidate)) == []
    for stranger in (
        {**candidate, "name": "other-model-predictor"},
        {**candidate, "namespace": "models-prod"},
        {**candidate, "kind": "Backend"},
    ):
        [problem] = messages(route(stable, stranger))
        assert "is not one of credit-risk's own Services" in problem
    [problem] = messages(route({**stable, "weight": 100}, mirror={"name": "elsewhere", "port": 80}))
    assert "Service/elsewhere is not one of credit-risk's own Services" in problem


@pytest.mark.parametrize("kind", ["Pod", "ConfigMap", "Secret", "Service"])
def test_a_kind_no_rule_judges_fails_closed_in_a_models_namespace(kind):
    document = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "namespace": "models-dev"}}
    [finding] = check_environment("dev", "models-dev", [document])
    assert f"no rule judges a {kind} (core) in a models namespace" in finding.message
    assert (finding.rule, finding.object) == ("MODELOPS_KINDS", f"{kind}/x")


def test_a_kind_from_another_api_group_is_not_the_platforms():
    document = {"apiVersion": "evil.example.org/v1", "kind": "InferenceService", "metadata": {"name": "x"}}
    [finding] = check_environment("dev", "models-dev", [document])
    assert "no rule judges a InferenceService (evil.example.org)" in finding.message


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
    assert [(f.file, f.message) for f in findings] == [
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
    assert finding.file == "gitops/models/credit-risk/overlays/dev/candidate.yaml"
    assert finding.message == "not found, yet dev renders InferenceService credit-risk-candidate"
