"""Pinned Helm releases; KServe in RawDeployment with a storage initializer `restricted` admits."""

from __future__ import annotations

import re

import pytest

from tests.infra.conftest import AWS_STACKS


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_helm_releases_are_pinned_and_kserve_runs_raw_with_a_restricted_initializer(stacks, name):
    releases = {
        r.inputs["chart"].rsplit("/", 1)[-1]: r for r in stacks[name].of_type("kubernetes:helm.sh/v3:Release")
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
