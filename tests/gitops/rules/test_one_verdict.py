"""One verdict per rule, whichever path asks: each case goes through the rule's function (what
`modelops validate` and the pull-request gate call) and through real checkov with the wrappers in
policies/checkov/, and both must say the same for every rule that applies to the object.

checkov starts in seconds, so every case is written into one folder with its own resource name and
scanned once; each parametrized test then reads its own resource's outcomes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelops.gitops.rules.catalogue import OBJECT_RULES
from modelops.gitops.validation import checkov_tool
from modelops_infra.backends.aws_storage import registry_artifact_uri
from tests.tools import require_command

REPO_ROOT = Path(__file__).resolve().parents[3]
NAMESPACE = "models-test"
M_ID = "m-751afd4e29c07359f0557995c9b0cc07"  # an MLflow logged-model id
RUN_ID = "0123456789abcdef0123456789abcdef"  # an MLflow run id
DIGEST = "sha256:" + "ab" * 32
SINK = "http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads"
RULES = {rule.id: rule for rule in OBJECT_RULES}


# --- compliant manifests; each case below changes one thing ----------------------------------------


def inference_service() -> dict[str, Any]:
    restricted = {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "labels": {"modelops.io/release": "stable"},
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "modelops.io/model-version": "3",
                "modelops.io/artifact-digest": DIGEST,
            },
        },
        "spec": {
            "predictor": {
                "serviceAccountName": "credit-risk",
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "labels": {"modelops.io/release": "stable"},
                # `{model}` becomes the case's name (see `named`): what the model answers to.
                "logger": {"mode": "all", "url": f"{SINK}/{{model}}/stable/3"},
                "model": {
                    "modelFormat": {"name": "mlflow"},
                    "protocolVersion": "v2",
                    "runtime": "modelops-mlserver",
                    "env": [{"name": "MLSERVER_MODEL_NAME", "value": "{model}"}],
                    "storageUri": registry_artifact_uri("1", M_ID),
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                    "securityContext": restricted,
                },
            }
        },
    }


def app_project() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {},
        "spec": {
            "sourceRepos": ["https://github.com/example-org/modelops-platform.git"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "models-dev"}],
            "clusterResourceWhitelist": [],
            "namespaceResourceWhitelist": [{"group": "serving.kserve.io", "kind": "InferenceService"}],
        },
    }


def _app_spec() -> dict[str, Any]:
    return {
        "project": "models-dev",
        "source": {
            "repoURL": "https://github.com/example-org/modelops-platform.git",
            "targetRevision": "main",
            "path": "gitops/environments/dev",
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "models-dev"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }


def application() -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {}, "spec": _app_spec()}


def application_set() -> dict[str, Any]:
    """Like gitops/bootstrap's: templated names, which checkov alone would drop unread."""
    spec = _app_spec()
    spec["project"] = "models-{{ .name }}"
    spec["source"]["targetRevision"] = "{{ .gitops.target_revision }}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {},
        "spec": {
            "goTemplate": True,
            "generators": [{"git": {"repoURL": "https://github.com/example-org/x.git", "revision": "main"}}],
            "template": {"metadata": {"name": "models-{{ .name }}"}, "spec": spec},
        },
    }


def http_route(*weights: Any) -> dict[str, Any]:
    # `{model}` becomes the case's name (see `named`): the model's own Services.
    services = ["{model}-predictor", "{model}-candidate-predictor"]
    refs = [{"name": services[i % 2], "port": 80, "weight": w} for i, w in enumerate(weights)]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {},
        "spec": {
            "parentRefs": [{"name": "models", "namespace": "gateway"}],
            "rules": [{"backendRefs": refs}],
        },
    }


def mirrored(mirror: dict[str, Any]) -> dict[str, Any]:
    route = http_route(100)
    route["spec"]["rules"][0]["filters"] = [
        {
            "type": "RequestMirror",
            "requestMirror": {"backendRef": {"name": "{model}-candidate-predictor", "port": 80}, **mirror},
        }
    ]
    return route


def edit(factory: Callable[[], dict[str, Any]], path: str, value: Any) -> dict[str, Any]:
    """factory() with the field at `path` (dots; `[i]` indexes a list) set to `value`, or removed if DROP."""
    manifest = factory()
    *parents, last = [s.replace("\\.", ".") for s in re.findall(r"(?:\\\.|[^.\[\]])+|\[\d+\]", path)]
    node: Any = manifest
    for step in parents:
        node = node[int(step[1:-1])] if step.startswith("[") else node.setdefault(step, {})
    key: Any = int(last[1:-1]) if last.startswith("[") else last
    if value is DROP:
        del node[key]
    else:
        node[key] = value
    return manifest


DROP = object()
MODEL = "spec.predictor.model"
MODEL_SC = f"{MODEL}.securityContext"
ANNOTATIONS = "metadata.annotations"
APP_SET_SPEC = "spec.template.spec"

# (check id, case name, manifest, expected outcome). Each name becomes the resource's name.
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    # CKV_MODELOPS_1 storageUri pinned
    ("CKV_MODELOPS_1", "uri-logged-model", inference_service(), "passed"),
    (
        "CKV_MODELOPS_1",
        "uri-run-id",
        edit(inference_service, f"{MODEL}.storageUri", f"gs://bucket/3/{RUN_ID}/artifacts/model"),
        "passed",
    ),
    (
        "CKV_MODELOPS_1",
        "uri-registry",
        edit(inference_service, f"{MODEL}.storageUri", "models:/credit-risk/3"),
        "failed",
    ),
    (
        "CKV_MODELOPS_1",
        "uri-alias",
        edit(inference_service, f"{MODEL}.storageUri", "models:/credit-risk@champion"),
        "failed",
    ),
    (
        "CKV_MODELOPS_1",
        "uri-latest",
        edit(inference_service, f"{MODEL}.storageUri", f"s3://bucket/{M_ID}/latest"),
        "failed",
    ),
    (
        "CKV_MODELOPS_1",
        "uri-placeholder",
        edit(inference_service, f"{MODEL}.storageUri", "s3://set-by-the-overlay"),
        "failed",
    ),
    ("CKV_MODELOPS_1", "uri-empty", edit(inference_service, f"{MODEL}.storageUri", ""), "failed"),
    (
        "CKV_MODELOPS_1",
        "uri-no-id",
        edit(inference_service, f"{MODEL}.storageUri", "s3://bucket/credit-risk/model"),
        "failed",
    ),
    (
        "CKV_MODELOPS_1",
        "uri-http",
        edit(inference_service, f"{MODEL}.storageUri", f"http://minio/bucket/{M_ID}/artifacts"),
        "failed",
    ),
    # CKV_MODELOPS_2 RawDeployment
    ("CKV_MODELOPS_2", "mode-raw", inference_service(), "passed"),
    ("CKV_MODELOPS_2", "mode-missing", edit(inference_service, ANNOTATIONS, {"a": "b"}), "failed"),
    (
        "CKV_MODELOPS_2",
        "mode-serverless",
        edit(inference_service, ANNOTATIONS, {"serving.kserve.io/deploymentMode": "Serverless"}),
        "failed",
    ),
    # CKV_MODELOPS_3 mlflow over v2
    ("CKV_MODELOPS_3", "format-mlflow-v2", inference_service(), "passed"),
    (
        "CKV_MODELOPS_3",
        "format-sklearn",
        edit(inference_service, f"{MODEL}.modelFormat.name", "sklearn"),
        "failed",
    ),
    ("CKV_MODELOPS_3", "protocol-v1", edit(inference_service, f"{MODEL}.protocolVersion", "v1"), "failed"),
    # CKV_MODELOPS_4 dedicated service account
    ("CKV_MODELOPS_4", "sa-own", inference_service(), "passed"),
    (
        "CKV_MODELOPS_4",
        "sa-default",
        edit(inference_service, "spec.predictor.serviceAccountName", "default"),
        "failed",
    ),
    (
        "CKV_MODELOPS_4",
        "sa-missing",
        edit(inference_service, "spec.predictor.serviceAccountName", DROP),
        "failed",
    ),
    # CKV_MODELOPS_5 requests and limits
    ("CKV_MODELOPS_5", "resources-set", inference_service(), "passed"),
    (
        "CKV_MODELOPS_5",
        "no-memory-limit",
        edit(inference_service, f"{MODEL}.resources.limits.memory", DROP),
        "failed",
    ),
    ("CKV_MODELOPS_5", "no-requests", edit(inference_service, f"{MODEL}.resources.requests", DROP), "failed"),
    # CKV_MODELOPS_6 restricted security context
    ("CKV_MODELOPS_6", "sc-restricted", inference_service(), "passed"),
    (
        "CKV_MODELOPS_6",
        "sc-nonroot-from-pod",
        edit(inference_service, f"{MODEL_SC}.runAsNonRoot", DROP),
        "passed",
    ),
    (
        "CKV_MODELOPS_6",
        "sc-localhost-seccomp",
        edit(
            inference_service,
            f"{MODEL_SC}.seccompProfile",
            {"type": "Localhost", "localhostProfile": "p.json"},
        ),
        "passed",
    ),
    (
        "CKV_MODELOPS_6",
        "sc-escalation",
        edit(inference_service, f"{MODEL_SC}.allowPrivilegeEscalation", True),
        "failed",
    ),
    (
        "CKV_MODELOPS_6",
        "sc-caps-kept",
        edit(inference_service, f"{MODEL_SC}.capabilities", {"drop": ["NET_RAW"]}),
        "failed",
    ),
    (
        "CKV_MODELOPS_6",
        "sc-root-container",
        edit(inference_service, f"{MODEL_SC}.runAsNonRoot", False),
        "failed",
    ),
    (
        "CKV_MODELOPS_6",
        "sc-unconfined",
        edit(inference_service, f"{MODEL_SC}.seccompProfile", {"type": "Unconfined"}),
        "failed",
    ),
    (
        "CKV_MODELOPS_6",
        "sc-no-pod-context",
        edit(
            lambda: edit(inference_service, f"{MODEL_SC}.runAsNonRoot", DROP),
            "spec.predictor.securityContext",
            DROP,
        ),
        "failed",
    ),
    (
        "CKV_MODELOPS_6",
        "sc-bare-sidecar",
        edit(inference_service, "spec.predictor.containers", [{"name": "proxy", "image": "envoy:1"}]),
        "failed",
    ),
    # CKV_MODELOPS_7 AppProject wildcards
    ("CKV_MODELOPS_7", "project-exact", app_project(), "passed"),
    ("CKV_MODELOPS_7", "project-any-repo", edit(app_project, "spec.sourceRepos", ["*"]), "failed"),
    (
        "CKV_MODELOPS_7",
        "project-any-namespace",
        edit(app_project, "spec.destinations.[0].namespace", "*"),
        "failed",
    ),
    (
        "CKV_MODELOPS_7",
        "project-any-server",
        edit(app_project, "spec.destinations.[0].server", "*"),
        "failed",
    ),
    # CKV_MODELOPS_8 AppProject cluster resources
    ("CKV_MODELOPS_8", "project-no-cluster", app_project(), "passed"),
    (
        "CKV_MODELOPS_8",
        "project-no-whitelist",
        edit(app_project, "spec.clusterResourceWhitelist", DROP),
        "passed",
    ),
    (
        "CKV_MODELOPS_8",
        "project-cluster-all",
        edit(app_project, "spec.clusterResourceWhitelist", [{"group": "*", "kind": "*"}]),
        "failed",
    ),
    # CKV_MODELOPS_9 not the default AppProject (the resource name is the case name, except this one)
    ("CKV_MODELOPS_9", "project-named", app_project(), "passed"),
    ("CKV_MODELOPS_9", "default", app_project(), "failed"),
    # CKV_MODELOPS_10 not the default project
    ("CKV_MODELOPS_10", "app-own-project", application(), "passed"),
    ("CKV_MODELOPS_10", "appset-own-project", application_set(), "passed"),
    ("CKV_MODELOPS_10", "app-default-project", edit(application, "spec.project", "default"), "failed"),
    ("CKV_MODELOPS_10", "app-no-project", edit(application, "spec.project", DROP), "failed"),
    (
        "CKV_MODELOPS_10",
        "appset-default-project",
        edit(application_set, f"{APP_SET_SPEC}.project", "default"),
        "failed",
    ),
    # CKV_MODELOPS_11 automated prune and selfHeal
    ("CKV_MODELOPS_11", "app-automated", application(), "passed"),
    ("CKV_MODELOPS_11", "appset-automated", application_set(), "passed"),
    ("CKV_MODELOPS_11", "app-manual-sync", edit(application, "spec.syncPolicy", {}), "failed"),
    (
        "CKV_MODELOPS_11",
        "app-no-prune",
        edit(application, "spec.syncPolicy.automated.prune", False),
        "failed",
    ),
    (
        "CKV_MODELOPS_11",
        "appset-no-self-heal",
        edit(application_set, f"{APP_SET_SPEC}.syncPolicy.automated.selfHeal", DROP),
        "failed",
    ),
    # CKV_MODELOPS_12 targetRevision
    ("CKV_MODELOPS_12", "app-branch", application(), "passed"),
    ("CKV_MODELOPS_12", "appset-templated", application_set(), "passed"),
    ("CKV_MODELOPS_12", "app-head", edit(application, "spec.source.targetRevision", "HEAD"), "failed"),
    ("CKV_MODELOPS_12", "app-no-revision", edit(application, "spec.source.targetRevision", DROP), "failed"),
    (
        "CKV_MODELOPS_12",
        "app-sources-head",
        edit(
            application,
            "spec.sources",
            [
                {"repoURL": "https://github.com/example-org/a.git", "targetRevision": "v1.2.0", "path": "a"},
                {"repoURL": "https://github.com/example-org/b.git", "targetRevision": "HEAD", "path": "b"},
            ],
        ),
        "failed",
    ),
    (
        "CKV_MODELOPS_12",
        "appset-generator-head",
        edit(application_set, "spec.generators.[0].git.revision", "HEAD"),
        "failed",
    ),
    # CKV_MODELOPS_13 weights
    ("CKV_MODELOPS_13", "route-stable", http_route(100), "passed"),
    ("CKV_MODELOPS_13", "route-canary", http_route(90, 10), "passed"),
    ("CKV_MODELOPS_13", "route-over-100", http_route(90, 20), "failed"),
    ("CKV_MODELOPS_13", "route-string-weight", http_route("100"), "failed"),
    (
        "CKV_MODELOPS_13",
        "route-missing-weight",
        edit(lambda: http_route(100), "spec.rules.[0].backendRefs.[0].weight", DROP),
        "failed",
    ),
    (  # passed validate's old check (a missing weight counted as 1), failed checkov's
        "CKV_MODELOPS_13",
        "route-99-and-missing",
        edit(lambda: http_route(99, 1), "spec.rules.[0].backendRefs.[1].weight", DROP),
        "failed",
    ),
    (
        "CKV_MODELOPS_13",
        "route-redirect-only",
        edit(lambda: http_route(100), "spec.rules.[0].backendRefs", []),
        "passed",
    ),
    # CKV_MODELOPS_14 mirror percent
    ("CKV_MODELOPS_14", "mirror-10", mirrored({"percent": 10}), "passed"),
    ("CKV_MODELOPS_14", "mirror-150", mirrored({"percent": 150}), "failed"),
    ("CKV_MODELOPS_14", "mirror-negative", mirrored({"percent": -5}), "failed"),
    (
        "CKV_MODELOPS_14",
        "mirror-fraction-over-1",
        mirrored({"fraction": {"numerator": 3, "denominator": 2}}),
        "failed",
    ),
    # CKV_MODELOPS_15 release annotations
    ("CKV_MODELOPS_15", "annotated", inference_service(), "passed"),
    (
        "CKV_MODELOPS_15",
        "no-digest",
        edit(inference_service, f"{ANNOTATIONS}.modelops\\.io/artifact-digest", DROP),
        "failed",
    ),
    (
        "CKV_MODELOPS_15",
        "version-alias",
        edit(inference_service, f"{ANNOTATIONS}.modelops\\.io/model-version", "champion"),
        "failed",
    ),
    # CKV_MODELOPS_16 nothing but the pinned artifact on the platform's runtime
    ("CKV_MODELOPS_16", "artifact-only", inference_service(), "passed"),
    (
        "CKV_MODELOPS_16",
        "own-image",
        edit(inference_service, f"{MODEL}.image", "registry.example.org/anything:1"),
        "failed",
    ),
    (
        "CKV_MODELOPS_16",
        "transformer",
        edit(inference_service, "spec.transformer", {"containers": [{"name": "t", "image": "t:1"}]}),
        "failed",
    ),
    # CKV_MODELOPS_18 the model's name on the platform's runtime
    ("CKV_MODELOPS_18", "served-name", inference_service(), "passed"),
    (  # KServe would name it after the InferenceService: the route's path answers 404
        "CKV_MODELOPS_18",
        "served-name-missing",
        edit(inference_service, f"{MODEL}.env", DROP),
        "failed",
    ),
    (
        "CKV_MODELOPS_18",
        "served-name-other",
        edit(inference_service, f"{MODEL}.env.[0].value", "payments"),
        "failed",
    ),
    (
        "CKV_MODELOPS_18",
        "served-env-extra",
        edit(
            inference_service,
            f"{MODEL}.env",
            [
                {"name": "MLSERVER_MODEL_NAME", "value": "{model}"},
                {"name": "MLSERVER_MODEL_URI", "value": "/"},
            ],
        ),
        "failed",
    ),
    ("CKV_MODELOPS_18", "runtime-default", edit(inference_service, f"{MODEL}.runtime", DROP), "failed"),
    (
        "CKV_MODELOPS_18",
        "runtime-other",
        edit(inference_service, f"{MODEL}.runtime", "kserve-mlserver"),
        "failed",
    ),
    # CKV_MODELOPS_19 payloads to the sink under the release and version
    ("CKV_MODELOPS_19", "logged", inference_service(), "passed"),
    ("CKV_MODELOPS_19", "logger-missing", edit(inference_service, "spec.predictor.logger", DROP), "failed"),
    (
        "CKV_MODELOPS_19",
        "logger-elsewhere",
        edit(inference_service, "spec.predictor.logger.url", "http://collector.example.org/{model}"),
        "failed",
    ),
    (
        "CKV_MODELOPS_19",
        "logger-other-version",
        edit(inference_service, "spec.predictor.logger.url", f"{SINK}/{{model}}/stable/2"),
        "failed",
    ),
    (
        "CKV_MODELOPS_19",
        "logger-requests-only",
        edit(inference_service, "spec.predictor.logger.mode", "request"),
        "failed",
    ),
    (  # a candidate's rows would land in stable's partitions and be charted as stable
        "CKV_MODELOPS_19",
        "logger-role-label",
        edit(inference_service, "spec.predictor.labels", {"modelops.io/release": "candidate"}),
        "failed",
    ),
    # CKV_MODELOPS_17 a model's own Services only
    ("CKV_MODELOPS_17", "route-own", http_route(90, 10), "passed"),
    ("CKV_MODELOPS_17", "mirror-own", mirrored({"percent": 10}), "passed"),
    (
        "CKV_MODELOPS_17",
        "route-elsewhere",
        edit(lambda: http_route(100), "spec.rules.[0].backendRefs.[0].name", "payments-predictor"),
        "failed",
    ),
    (  # same name, but `kind: Service` of another API group is not the model's Service
        "CKV_MODELOPS_17",
        "route-other-group",
        edit(lambda: http_route(100), "spec.rules.[0].backendRefs.[0].group", "services.example.org"),
        "failed",
    ),
    (
        "CKV_MODELOPS_17",
        "route-other-namespace",
        edit(lambda: http_route(100), "spec.rules.[0].backendRefs.[0].namespace", "models-prod"),
        "failed",
    ),
    (
        "CKV_MODELOPS_17",
        "mirror-elsewhere",
        edit(
            lambda: mirrored({"percent": 10}), "spec.rules.[0].filters.[0].requestMirror.backendRef.name", "x"
        ),
        "failed",
    ),
]

# kind Application also names the Kubernetes SIG application CRD: not Argo CD's, so not judged.
FOREIGN_APPLICATION = edit(application, "apiVersion", "app.k8s.io/v1beta1")


def named(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    manifest = copy.deepcopy(manifest)
    manifest["metadata"].update(name=name, namespace=NAMESPACE)
    return _with_model(manifest, name)


def _with_model(node: Any, model: str) -> Any:
    if isinstance(node, dict):
        return {k: _with_model(v, model) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_model(v, model) for v in node]
    return node.replace("{model}", model) if isinstance(node, str) else node


def resource_id(manifest: dict[str, Any]) -> str:
    return f"{manifest['kind']}.{NAMESPACE}.{manifest['metadata']['name']}"


def python_verdicts(document: dict[str, Any]) -> dict[str, bool]:
    """{rule id: passed} for every rule that applies to `document`."""
    return {rule.id: not rule.problems(document) for rule in OBJECT_RULES if rule.applies(document)}


CASE_DOCUMENTS = {name: named(manifest, name) for _, name, manifest, _ in CASES}
CASE_DOCUMENTS["foreign-application"] = named(FOREIGN_APPLICATION, "foreign-application")


@pytest.fixture(scope="module")
def checkov_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bool]]:
    """{resource: {rule id: passed}} from one real checkov run over every case."""
    require_command("uvx")
    folder = tmp_path_factory.mktemp("checkov-cases")
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False  # block style, as `kubectl kustomize` writes
    documents = list(CASE_DOCUMENTS.values())
    for kind in {d["kind"] for d in documents}:  # one file per kind, several documents each
        with (folder / f"{kind.lower()}.yaml").open("w") as stream:
            yaml.dump_all([d for d in documents if d["kind"] == kind], stream)
    verdicts: dict[str, dict[str, bool]] = {}
    for outcome in checkov_tool.scan(folder, root=REPO_ROOT, checks=sorted(RULES)):
        verdicts.setdefault(outcome.resource, {})[outcome.check_id] = outcome.passed
    return verdicts


@pytest.mark.parametrize(
    ("rule_id", "name", "manifest", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_the_rule_says_what_the_case_expects(rule_id: str, name: str, manifest: dict, expected: str) -> None:
    document = CASE_DOCUMENTS[name]
    assert RULES[rule_id].applies(document)
    assert ("passed" if not RULES[rule_id].problems(document) else "failed") == expected, RULES[
        rule_id
    ].problems(document)


def unread_by_checkov(document: dict[str, Any]) -> bool:
    # checkov 3 drops an ApplicationSet whose template holds `{{ }}` placeholders without reading it,
    # and every ApplicationSet worth having holds them: only validate judges those.
    return document["kind"] == "ApplicationSet"


@pytest.mark.parametrize("name", sorted(CASE_DOCUMENTS))
def test_checkov_gives_the_same_verdict_for_every_rule(checkov_verdicts: dict, name: str) -> None:
    document = CASE_DOCUMENTS[name]
    if unread_by_checkov(document):
        # Should checkov start reading them, this fails: then its verdicts must be compared too.
        assert checkov_verdicts.get(resource_id(document)) is None
        assert python_verdicts(document)
    else:
        assert checkov_verdicts.get(resource_id(document), {}) == python_verdicts(document)


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    for rule_id in RULES:
        assert {expected for c, *_, expected in CASES if c == rule_id} == {"passed", "failed"}, rule_id


def test_an_application_outside_argo_cd_is_not_judged() -> None:
    assert python_verdicts(CASE_DOCUMENTS["foreign-application"]) == {}


def test_a_malformed_object_fails_closed_instead_of_crashing() -> None:
    for rule in OBJECT_RULES:
        for kind in rule.kinds:
            broken = {
                "apiVersion": f"{rule.api_group}/v1".lstrip("/"),
                "kind": kind,
                "metadata": {},
                "spec": [],
            }
            rule.problems(broken)  # answers, whatever it answers
    broken = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "spec": "x"}
    assert not python_verdicts(broken)["CKV_MODELOPS_1"]


def test_a_checkov_skip_annotation_does_not_pass_the_platforms_rule() -> None:
    # checkov honours `checkov.io/skip`; the gate does not: an author cannot annotate a rule away.
    document = named(edit(inference_service, f"{MODEL}.storageUri", "models:/credit-risk@champion"), "skip")
    document["metadata"]["annotations"]["checkov.io/skip1"] = "CKV_MODELOPS_1=demo only, never synced"
    assert python_verdicts(document)["CKV_MODELOPS_1"] is False
