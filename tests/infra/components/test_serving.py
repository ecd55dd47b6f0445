"""Pinned Helm releases; KServe in RawDeployment with a storage initializer `restricted` admits."""

from __future__ import annotations

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
