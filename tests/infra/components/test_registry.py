"""The MLflow server: authenticated, answering its in-cluster names only, on a safe version."""

from __future__ import annotations

import re

import pytest

from modelops_infra import versions
from tests.infra.conftest import AWS_STACKS


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_mlflow_runs_authenticated_with_allowed_hosts_on_a_safe_version(stacks, name):
    (deployment,) = [
        d
        for d in stacks[name].of_type("kubernetes:apps/v1:Deployment")
        if d.inputs["metadata"]["name"] == "mlflow"
    ]
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert "--app-name=basic-auth" in container["args"]
    assert any(
        a.startswith("--allowed-hosts=") and "mlflow.mlflow.svc.cluster.local" in a for a in container["args"]
    )
    tag = re.search(r":v?(\d+)\.(\d+)\.\d+$", container["image"])
    assert tag is not None and tuple(map(int, tag.groups())) >= versions.MLFLOW_MIN_VERSION
    services = [
        s
        for s in stacks[name].of_type("kubernetes:core/v1:Service")
        if s.inputs["metadata"]["name"] == "mlflow"
    ]
    assert services[0].inputs["spec"]["type"] == "ClusterIP"
