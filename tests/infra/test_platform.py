"""Every stack builds under mocks, has every part, and says what the platform promises."""

from __future__ import annotations

import pytest

from modelops_infra.settings import load_settings
from tests.infra.conftest import AWS_STACKS

# MonitorIdentity: every stack serves credit-risk (gitops/models), so each runs its monitor.
COMPONENTS = {"Registry", "Monitoring", "Serving", "GitOps", "Security", "PayloadSink", "MonitorIdentity"}


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_the_stack_has_every_platform_part(stacks, name):
    kinds = {
        r.type.rsplit(":", 1)[-1] for r in stacks[name].resources if r.type.startswith("modelops:platform:")
    }
    aws_only = {"Network", "Cluster", "CiAccess", "ArtifactAccess", "Runners"}
    expected = COMPONENTS | (aws_only if name != "local" else set())
    assert kinds == expected


def test_the_local_stack_creates_no_aws_resources_and_runs_its_own_storage(stacks):
    local = stacks["local"]
    assert not [r for r in local.resources if r.type.startswith("aws:")]
    stateful = {r.inputs["metadata"]["name"] for r in local.of_type("kubernetes:apps/v1:StatefulSet")}
    assert stateful == {"postgres", "minio"}
    (provider,) = local.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == load_settings("local").platform.kube_context
