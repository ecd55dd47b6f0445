"""Pinned Helm releases; KServe in RawDeployment with a storage initializer `restricted` admits."""

from __future__ import annotations

import re

import pytest

from tests.infra.conftest import AWS_STACKS


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_helm_releases_are_pinned_and_kserve_runs_raw_with_a_restricted_initializer(stacks, name):
    releases = {
        r.inputs["chart"].rsplit("/", 1)[-1]: r
        for r in stacks[name].of_type("kubernetes:helm.sh/v3:Release")
        if "actions-runner-controller" not in r.inputs["chart"]  # the CI runners: test_runners.py
    }
    assert set(releases) == {
        "kube-prometheus-stack",
        "cert-manager",
        "gateway-helm",
        "kserve-crd",
        "kserve",
        "argo-cd",
    }
    kserve = releases["kserve"].inputs["values"]["kserve"]
    assert kserve["controller"]["deploymentMode"] == "RawDeployment"
    initializer = kserve["storage"]["containerSecurityContext"]
    assert initializer["runAsNonRoot"] and initializer["allowPrivilegeEscalation"] is False
    assert (
        initializer["capabilities"]["drop"] == ["ALL"]
        and initializer["seccompProfile"]["type"] == "RuntimeDefault"
    )


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_models_run_on_the_platforms_runtime_built_from_its_lock(stacks, name):
    from modelops.serving import contract

    [runtime] = [
        r for r in stacks[name].of_type("kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime")
    ]
    assert runtime.inputs["metadata"]["name"] == contract.RUNTIME
    [container] = runtime.inputs["spec"]["containers"]
    # The image is the one built from infra/images/mlserver's lock: MLServer's version and the lock's hash.
    assert re.fullmatch(
        r"ghcr\.io/[a-z0-9-]+/[a-z0-9-]+/mlserver-runtime:1\.7\.1-[0-9a-f]{12}", container["image"]
    )
    environment = {e["name"]: e["value"] for e in container["env"]}
    assert environment == contract.RUNTIME_ENV
    # Never chosen for an InferenceService that names no runtime: every release names this one.
    assert [f["autoSelect"] for f in runtime.inputs["spec"]["supportedModelFormats"]] == [False]


# --- the storage initializer: only verified artifacts reach the model server ---

STORAGE_CONTAINER = "kubernetes:serving.kserve.io/v1alpha1:ClusterStorageContainer"
# What the kserve chart's `default` ClusterStorageContainer claims at v0.16.0
# (charts/kserve-resources/templates/clusterstoragecontainer.yaml): every scheme a release may use.
CHART_DEFAULT_FORMATS = [
    {"prefix": "gs://"},
    {"prefix": "s3://"},
    {"prefix": "hdfs://"},
    {"prefix": "hf://"},
    {"prefix": "webhdfs://"},
    {"regex": "https://(.+?).blob.core.windows.net/(.+)"},
    {"regex": "https://(.+?).file.core.windows.net/(.+)"},
    {"regex": "https?://(.+)/(.+)"},
]


def claims(formats, uri):
    """Whether a ClusterStorageContainer with `formats` takes `uri`, as KServe v0.16 decides
    (StorageContainerSpec.IsStorageUriSupported: a prefix, or a Go regexp matching anywhere)."""
    return any(
        uri.startswith(f["prefix"])
        if f.get("prefix")
        else bool(f.get("regex") and re.search(f["regex"], uri))
        for f in formats
    )


def _pinned_storage_uris(repo_root):
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    uris = []
    for release in sorted((repo_root / "gitops" / "models").glob("*/overlays/*/release.yaml")):
        document = yaml.load(release.read_text())
        uris.append(document["spec"]["predictor"]["model"]["storageUri"])
    assert uris, "no release overlays found"
    return uris


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_every_predictor_pod_fills_its_model_folder_with_the_verifier_from_the_modelops_image(stacks, name):
    import importlib.util

    from modelops.gitops.repository.layout import DIGEST_ANNOTATION
    from modelops_infra.versions import MODELOPS_VERSION

    [storage] = stacks[name].of_type(STORAGE_CONTAINER)
    spec = storage.inputs["spec"]
    container = spec["container"]
    # The name KServe's webhook recognises an injected initializer by: it is never injected twice.
    assert container["name"] == "storage-initializer"
    assert re.fullmatch(
        rf"ghcr\.io/[a-z0-9-]+/[a-z0-9-]+/modelops:v{re.escape(MODELOPS_VERSION)}", container["image"]
    )
    # KServe appends SRC_URI and DEST_DIR; the image's entrypoint is the `modelops` command, so the
    # verifier's module is named, and it exists.
    assert container["command"] == ["python", "-m", "modelops.serving.fetch_verified"]
    assert "args" not in container
    assert importlib.util.find_spec(container["command"][2]) is not None
    [digest] = container["env"]
    assert digest["name"] == "MODELOPS_ARTIFACT_DIGEST"
    assert digest["valueFrom"] == {"fieldRef": {"fieldPath": f"metadata.annotations['{DIGEST_ANNOTATION}']"}}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["runAsNonRoot"]
    assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
    assert spec["workloadType"] == "initContainer"
    assert spec["supportsMultiModelDownload"] is False


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_no_storage_uri_a_release_may_use_reaches_an_initializer_that_does_not_verify(
    stacks, repo_root, name
):
    from modelops.gitops.rules.releases import OBJECT_STORE_SCHEMES, storage_uri_problem

    [storage] = stacks[name].of_type(STORAGE_CONTAINER)
    ours = storage.inputs["spec"]["supportedUriFormats"]
    [patch] = stacks[name].of_type(f"{STORAGE_CONTAINER}Patch")
    assert patch.inputs["metadata"]["name"] == "default"
    assert patch.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    patched_default = patch.inputs["spec"]["supportedUriFormats"]
    one_per_scheme = [
        f"{scheme}://artifacts/1/models/m-0123456789abcdef0123456789abcdef/artifacts"
        for scheme in OBJECT_STORE_SCHEMES
    ]
    admitted = [
        uri for uri in [*_pinned_storage_uris(repo_root), *one_per_scheme] if not storage_uri_problem(uri)
    ]
    assert len(admitted) >= len(one_per_scheme)
    for uri in admitted:
        assert claims(ours, uri), uri
        assert not claims(patched_default, uri), uri
    # Unpatched, the chart's container would claim them too, and KServe's pick between two is arbitrary.
    assert any(claims(CHART_DEFAULT_FORMATS, uri) for uri in admitted)


# --- the API server admits no model pod that fetches its artifact some other way ---

ADMISSION_POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
ADMISSION_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"


def _admits(expression: str, pod: dict) -> bool:
    """The policy's CEL evaluated on `pod` (cel-python: the CEL language, without Kubernetes' library
    extensions, which the expression does not use)."""
    import celpy

    environment = celpy.Environment()
    program = environment.program(environment.compile(expression))
    return bool(program.evaluate({"object": celpy.json_to_cel(pod)}))


def _pod(*init_containers: dict) -> dict:
    spec: dict = {"containers": [{"name": "kserve-container", "image": "mlserver-runtime:1.7.1"}]}
    if init_containers:
        spec["initContainers"] = list(init_containers)
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec}


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_a_model_pod_whose_initializer_is_not_the_verifier_is_refused_by_the_api_server(stacks, name):
    [storage] = stacks[name].of_type(STORAGE_CONTAINER)
    ours = storage.inputs["spec"]["container"]
    [policy] = stacks[name].of_type(ADMISSION_POLICY)
    [binding] = stacks[name].of_type(ADMISSION_BINDING)
    spec = policy.inputs["spec"]
    assert spec["failurePolicy"] == "Fail"
    [rule] = spec["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["pods"] and "CREATE" in rule["operations"]
    assert binding.inputs["spec"]["policyName"] == policy.inputs["metadata"]["name"]
    assert binding.inputs["spec"]["validationActions"] == ["Deny"]
    namespaces = binding.inputs["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]
    assert namespaces == {"kubernetes.io/metadata.name": f"models-{name}"}
    [validation] = spec["validations"]
    expression = validation["expression"]

    # As KServe's pod mutator injects ours: its container merged over KServe's own (args appended).
    injected = {**ours, "args": ["s3://bucket/models/7/artifacts", "/mnt/models"]}
    assert _admits(expression, _pod(injected))
    assert _admits(expression, _pod())  # a pod with no artifact to fetch
    assert _admits(expression, _pod({"name": "wait-for-db", "image": "busybox"}, injected))
    # KServe's built-in default (no ClusterStorageContainer matched), or the chart's restored `default`.
    kserve_default = {
        "name": "storage-initializer",
        "image": "kserve/storage-initializer:v0.16.0",
        "args": ["s3://bucket/models/7/artifacts", "/mnt/models"],
    }
    assert not _admits(expression, _pod(kserve_default))
    assert not _admits(expression, _pod({**injected, "command": ["python", "-m", "http.server"]}))
    assert not _admits(expression, _pod({k: v for k, v in injected.items() if k != "command"}))
    assert not _admits(expression, _pod({**injected, "image": ours["image"] + "-tampered"}))
    assert not _admits(expression, _pod({"name": "warm-up", "image": "busybox"}, kserve_default))
