"""The custom checkov checks in policies/checkov/, run by real checkov through `modelops.gitops.checkov_scan`.

checkov starts in ~5 s, so every case is written into one folder with its own resource name and
scanned once; each parametrized test then reads its own resource's outcome.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelops.errors import InputError
from modelops.gitops import checkov_scan
from modelops.gitops.checkov_scan import ScanResult, scan, tool_available
from tests.tools import require, require_command

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKS_DIR = REPO_ROOT / "policies" / "checkov"
NAMESPACE = "models-test"
M_ID = "m-751afd4e29c07359f0557995c9b0cc07"  # an MLflow logged-model id
RUN_ID = "0123456789abcdef0123456789abcdef"  # an MLflow run id


@pytest.fixture(scope="module")
def checkov() -> None:
    require(tool_available(), f"checkov {checkov_scan.CHECKOV_VERSION} through uvx")


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
        "metadata": {"annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"}},
        "spec": {
            "predictor": {
                "serviceAccountName": "credit-risk",
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "model": {
                    "modelFormat": {"name": "mlflow"},
                    "protocolVersion": "v2",
                    "storageUri": f"s3://modelops-dev-mlflow-artifacts/1/models/{M_ID}/artifacts",
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
    refs = [{"name": f"backend-{i}", "port": 80, "weight": w} for i, w in enumerate(weights)]
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
            "requestMirror": {"backendRef": {"name": "candidate", "port": 80}, **mirror},
        }
    ]
    return route


def edit(factory: Callable[[], dict[str, Any]], path: str, value: Any) -> dict[str, Any]:
    """factory() with the field at `path` (dots; `[i]` indexes a list) set to `value`, or removed if DROP."""
    manifest = factory()
    *parents, last = re.findall(r"[^.\[\]]+|\[\d+\]", path)
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
]

# A violation annotated away: reported as skipped, with the reason from the annotation.
SKIPPED = edit(inference_service, f"{MODEL}.storageUri", "models:/credit-risk@champion")
SKIPPED["metadata"]["annotations"]["checkov.io/skip1"] = "CKV_MODELOPS_1=demo only, never synced"
# kind Application also names the Kubernetes SIG application CRD: not Argo CD's, so not judged.
FOREIGN_APPLICATION = edit(application, "apiVersion", "app.k8s.io/v1beta1")


def block_yaml() -> YAML:
    """A dumper writing block style, as `kubectl kustomize` does."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    return yaml


def resource_id(manifest: dict[str, Any]) -> str:
    return f"{manifest['kind']}.{NAMESPACE}.{manifest['metadata']['name']}"


def named(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    manifest = copy.deepcopy(manifest)
    manifest["metadata"].update(name=name, namespace=NAMESPACE)
    return manifest


def outcome(result: ScanResult, check_id: str, resource: str) -> str | None:
    for status, findings in (
        ("passed", result.passed_checks),
        ("failed", result.failed),
        ("skipped", result.skipped),
    ):
        if any(f.check_id == check_id and f.resource == resource for f in findings):
            return status
    return None


@pytest.fixture(scope="module")
def cases_scan(checkov: None, tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    folder = tmp_path_factory.mktemp("checkov-cases")
    documents = [named(manifest, name) for _, name, manifest, _ in CASES]
    documents += [named(SKIPPED, "skipped-by-annotation"), named(FOREIGN_APPLICATION, "foreign-application")]
    yaml = block_yaml()
    # One file per kind, several documents each, as `kubectl kustomize` writes them.
    for kind in {d["kind"] for d in documents}:
        with (folder / f"{kind.lower()}.yaml").open("w") as stream:
            yaml.dump_all([d for d in documents if d["kind"] == kind], stream)
    return scan(folder, checks_dir=CHECKS_DIR)


@pytest.mark.parametrize(
    ("check_id", "name", "manifest", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_custom_check(
    cases_scan: ScanResult, check_id: str, name: str, manifest: dict, expected: str
) -> None:
    assert outcome(cases_scan, check_id, resource_id(named(manifest, name))) == expected


def test_every_custom_check_has_a_passing_and_a_failing_case() -> None:
    ids = {m for f in CHECKS_DIR.glob("*.py") for m in re.findall(r'id="(CKV_MODELOPS_\d+)"', f.read_text())}
    assert len(ids) == 14
    for check_id in ids:
        assert {expected for c, *_, expected in CASES if c == check_id} == {"passed", "failed"}, check_id


def test_skip_annotation_is_reported_with_its_reason(cases_scan: ScanResult) -> None:
    resource = resource_id(named(SKIPPED, "skipped-by-annotation"))
    [skip] = [s for s in cases_scan.skipped if s.resource == resource]
    assert (skip.check_id, skip.reason, skip.file) == (
        "CKV_MODELOPS_1",
        "demo only, never synced",
        "inferenceservice.yaml",
    )


def test_failure_names_the_field_at_fault(cases_scan: ScanResult) -> None:
    [finding] = [f for f in cases_scan.failed if f.resource == f"InferenceService.{NAMESPACE}.sc-escalation"]
    assert finding.fields == ("spec/predictor/model/securityContext/allowPrivilegeEscalation",)


def test_an_application_outside_argo_cd_is_not_judged(cases_scan: ScanResult) -> None:
    resource = resource_id(named(FOREIGN_APPLICATION, "foreign-application"))
    assert [f for f in (*cases_scan.passed_checks, *cases_scan.failed) if f.resource == resource] == []


# --- the committed tree ---------------------------------------------------------------------------

RENDERED = {
    **{env: REPO_ROOT / "gitops" / "environments" / env for env in ("local", "dev", "staging", "prod")},
    "bootstrap": REPO_ROOT / "gitops" / "bootstrap",
}


def test_committed_gitops_tree_has_no_failed_check(checkov: None, tmp_path: Path) -> None:
    kubectl = require_command("kubectl")
    for name, source in RENDERED.items():
        rendered = subprocess.run(
            [kubectl, "kustomize", str(source)], capture_output=True, text=True, check=True
        )
        (tmp_path / f"{name}.yaml").write_text(rendered.stdout)

    result = scan(tmp_path, checks_dir=CHECKS_DIR)

    assert [(f.check_id, f.resource, f.file) for f in result.failed] == []
    assert result.skipped == ()
    ran = {(f.check_id, f.resource) for f in result.passed_checks}
    # Every object our checks cover was read and judged, the ApplicationSet's templated names included.
    for env in ("local", "dev", "staging", "prod"):
        for n in range(1, 7):
            assert (f"CKV_MODELOPS_{n}", f"InferenceService.models-{env}.credit-risk") in ran
        for n in (13, 14):
            assert (f"CKV_MODELOPS_{n}", f"HTTPRoute.models-{env}.credit-risk") in ran
        for n in (7, 8, 9):
            assert (f"CKV_MODELOPS_{n}", f"AppProject.argocd.models-{env}") in ran
    for n in (10, 11, 12):
        assert (f"CKV_MODELOPS_{n}", "ApplicationSet.argocd.models") in ran
    assert result.resources == 4 * 4 + 5


# --- errors -------------------------------------------------------------------------------------------


def test_a_custom_check_that_does_not_load_is_an_input_error(checkov: None, tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    shutil.copytree(CHECKS_DIR, checks)
    (checks / "modelops_broken.py").write_text("this is not python(\n")
    # checkov loads custom checks only when the folder holds at least one manifest.
    (tmp_path / "manifests").mkdir()
    block_yaml().dump(named(http_route(100), "route"), tmp_path / "manifests" / "route.yaml")
    with pytest.raises(InputError, match=r"could not load a custom check .*modelops_broken"):
        scan(tmp_path / "manifests", checks_dir=checks)


def test_a_resource_checkov_would_drop_unread_is_an_input_error(checkov: None, tmp_path: Path) -> None:
    route = named(http_route(100), "route")
    route["spec"]["rules"][0]["backendRefs"][0]["name"] = 8080  # checkov skips documents with such a name
    block_yaml().dump(route, tmp_path / "route.yaml")
    with pytest.raises(InputError, match=r"checkov cannot read route.yaml HTTPRoute/route"):
        scan(tmp_path, checks_dir=CHECKS_DIR)


def test_missing_uvx_is_an_input_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(checkov_scan.shutil, "which", lambda _: None)
    checkov_scan._checkov_problem.cache_clear()
    try:
        assert not tool_available()
        with pytest.raises(InputError, match="checkov is not available: uvx is not on PATH"):
            scan(tmp_path, checks_dir=CHECKS_DIR)
    finally:
        checkov_scan._checkov_problem.cache_clear()


def test_a_checks_folder_checkov_would_ignore_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no custom checks"):
        scan(tmp_path, checks_dir=tmp_path)
