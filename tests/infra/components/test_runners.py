"""The self-hosted CI runners: pinned charts, one job per unprivileged pod, no rights, narrow egress."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
from pydantic import ValidationError

from modelops_infra import layout as L
from modelops_infra.manifests import runners as R
from modelops_infra.manifests.rollout_job import PROMETHEUS_POD, PROMETHEUS_PORT
from modelops_infra.settings import RunnerSettings, load_settings
from modelops_infra.versions import ARC_CONTROLLER, ARC_RUNNER_SCALE_SET, RUNNER_BASE_IMAGE, ci_runner_image
from tests.conftest import REPO_ROOT
from tests.github import hardening
from tests.github.workflow_runner import load_workflow
from tests.infra.conftest import AWS_STACKS

RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_VERSION = "1.33.0"


def _releases(stack) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["chart"]: r.inputs for r in stack.of_type(RELEASE) if "actions-runner" in r.inputs["chart"]
    }


def _scale_set(stack) -> dict[str, Any]:
    return _releases(stack)[ARC_RUNNER_SCALE_SET.chart]


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (dotted key, leaf) of a values tree, lists indexed."""
    if isinstance(value, dict):
        return [pair for key, inner in value.items() for pair in _walk(inner, f"{path}.{key}")]
    if isinstance(value, list):
        return [pair for index, inner in enumerate(value) for pair in _walk(inner, f"{path}[{index}]")]
    return [(path, value)]


def _objects(stack, kind: str, namespace: str) -> list[dict[str, Any]]:
    return [
        o
        for o in stack.kubernetes_objects()
        if o["kind"] == kind and o["metadata"].get("namespace", o["metadata"]["name"]) == namespace
    ]


@pytest.mark.parametrize("name", AWS_STACKS)
def test_every_aws_stack_installs_the_pinned_controller_and_its_own_scale_set(stacks, name):
    releases = _releases(stacks[name])
    assert set(releases) == {ARC_CONTROLLER.chart, ARC_RUNNER_SCALE_SET.chart}
    controller, scale_set = releases[ARC_CONTROLLER.chart], releases[ARC_RUNNER_SCALE_SET.chart]
    # One version for both: the controller reconciles the scale set's CRDs.
    assert (
        controller["version"]
        == scale_set["version"]
        == ARC_CONTROLLER.version
        == ARC_RUNNER_SCALE_SET.version
    )
    assert (controller["namespace"], scale_set["namespace"]) == ("arc-systems", "arc-runners")
    assert scale_set["name"] == f"modelops-{name}"
    values = scale_set["values"]
    assert values["runnerScaleSetName"] == values["runnerGroup"] == f"modelops-{name}"
    assert controller["values"]["flags"]["watchSingleNamespace"] == "arc-runners"
    assert values["controllerServiceAccount"] == {
        "namespace": "arc-systems",
        "name": controller["values"]["serviceAccount"]["name"],
    }


def test_the_local_stack_has_no_runners(stacks):
    assert _releases(stacks["local"]) == {}
    assert not [
        o for o in stacks["local"].kubernetes_objects() if "arc-" in o["metadata"].get("namespace", "")
    ]


@pytest.mark.parametrize("name", AWS_STACKS)
def test_runners_register_with_the_organisation_using_the_app_secret_by_name(stacks, repo_root, name):
    values = _scale_set(stacks[name])["values"]
    repository = load_settings(name, root=repo_root).github_repository
    assert values["githubConfigUrl"] == f"https://github.com/{repository.split('/')[0]}"
    # A name, not a mapping: the chart reads the pre-created Secret; no credential is in the state.
    assert values["githubConfigSecret"] == "arc-github-app"
    leaves = _walk(values)
    assert not [path for path, _ in leaves if "github_app" in path or "github_token" in path]
    assert not [v for _, v in leaves if isinstance(v, str) and "PRIVATE KEY" in v]


@pytest.mark.parametrize("name", AWS_STACKS)
def test_runners_are_unprivileged_one_job_pods_without_docker(stacks, name, repo_root):
    values = _scale_set(stacks[name])["values"]
    leaves = _walk(values)
    assert "containerMode" not in values  # neither dind (privileged) nor kubernetes (API rights)
    assert not [v for _, v in leaves if isinstance(v, str) and R.DIND in v.lower()]
    assert not [p for p, v in leaves if p.endswith(".privileged") and v is not False]
    assert not [p for p, v in leaves if p.endswith("allowPrivilegeEscalation") and v is not False]
    keys = {key for path, _ in leaves for key in re.split(r"[.\[\]]", path)}
    assert not keys & set(R.PERSISTENT_RUNNER_KEYS)
    spec = values["template"]["spec"]
    (runner,) = spec["containers"]
    # The repository's own image, with the jobs' tools (infra/images/ci-runner), not GitHub's bare one.
    repository = load_settings(name, root=repo_root).github_repository
    assert runner["image"] == ci_runner_image(repository) != RUNNER_BASE_IMAGE
    assert runner["image"].startswith(f"ghcr.io/{repository.lower()}/ci-runner:")
    assert runner["command"] == ["/home/runner/run.sh"]  # the JIT runner: one job, then the pod goes
    assert runner["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert runner["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(runner["resources"]) == {"requests", "limits"} and runner["resources"]["limits"]["memory"]
    # The template is a Pod the API server accepts (the chart adds restartPolicy and labels).
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runner"}, "spec": spec}
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", AWS_STACKS)
def test_min_and_max_runners_come_from_the_settings(stacks, name):
    values = _scale_set(stacks[name])["values"]
    defaults = RunnerSettings()
    assert (values["minRunners"], values["maxRunners"]) == (defaults.min_runners, defaults.max_runners)


def test_runner_settings_are_strict():
    assert RunnerSettings(min_runners=1, max_runners=1).max_runners == 1
    for bad in ({"min_runners": 3, "max_runners": 2}, {"min_runners": -1}, {"max_runners": 0}, {"idle": 1}):
        with pytest.raises(ValidationError):
            RunnerSettings(**bad)


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_runner_account_has_no_token_and_no_binding(stacks, name):
    stack = stacks[name]
    spec = _scale_set(stack)["values"]["template"]["spec"]
    assert spec["serviceAccountName"] == "arc-runner" and spec["automountServiceAccountToken"] is False
    (account,) = [
        a for a in _objects(stack, "ServiceAccount", "arc-runners") if a["metadata"]["name"] == "arc-runner"
    ]
    assert account["automountServiceAccountToken"] is False
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for binding in (o for o in stack.kubernetes_objects() if o["kind"] == kind):
            subjects = binding.get("subjects") or []
            assert not [s for s in subjects if s.get("name") == "arc-runner"], binding["metadata"]
    # No Pod Identity association names the runners: they assume the CI roles through GitHub's OIDC.
    for association in stack.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        assert association.inputs.get("namespace") not in ("arc-runners", "arc-systems")


def _egress(policy: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    return [
        (peer, port["port"])
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
        for port in rule["ports"]
    ]


# What each stack's runners call inside their own cluster: the registry's MLflow, an environment's
# Prometheus (rollout rounds); nothing else, and no MLflow where the cluster runs none.
CALLS = {
    "registry": {L.MLFLOW_PORT: (L.MLFLOW_NAMESPACE, {"app": L.MLFLOW_APP})},
    **{name: {PROMETHEUS_PORT: (L.MONITORING_NAMESPACE, PROMETHEUS_POD)} for name in AWS_STACKS},
}


@pytest.mark.parametrize("name", ["registry", *AWS_STACKS])
def test_runner_namespaces_admit_nothing_and_reach_dns_https_and_named_services_only(every_stack, name):
    stack = every_stack[name]
    for namespace in ("arc-runners", "arc-systems"):
        (ns,) = [
            o
            for o in stack.kubernetes_objects()
            if o["kind"] == "Namespace" and o["metadata"]["name"] == namespace
        ]
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        policies = {p["metadata"]["name"]: p for p in _objects(stack, "NetworkPolicy", namespace)}
        assert set(policies) == {"default-deny", "allow-egress"}
        deny = policies["default-deny"]["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}
        policy = policies["allow-egress"]
        # Nothing admits ingress: nothing connects to a runner or the controller.
        assert policy["spec"]["podSelector"] == {} and policy["spec"]["policyTypes"] == ["Egress"]
        egress = _egress(policy)
        # Every rule names a port: the instance metadata service and the Pod Identity agent (port 80)
        # are out of reach, and so is the data tier's database.
        assert all(rule.get("ports") for rule in policy["spec"]["egress"])
        ports = {port for _, port in egress}
        assert ports <= {L.DNS_PORT, L.HTTPS_PORT, L.MLFLOW_PORT, PROMETHEUS_PORT}
        assert 80 not in ports and L.POSTGRES_PORT not in ports
        anywhere = [port for peer, port in egress if "ipBlock" in peer]
        assert anywhere == [L.HTTPS_PORT] and all(
            p["ipBlock"] == {"cidr": "0.0.0.0/0"} for p, _ in egress if "ipBlock" in p
        )
        dns = [peer for peer, port in egress if port == L.DNS_PORT]
        assert dns and all(peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}} for peer in dns)
    (runners,) = [
        p for p in _objects(stack, "NetworkPolicy", "arc-runners") if p["metadata"]["name"] == "allow-egress"
    ]
    inside = {port: peer for peer, port in _egress(runners) if port in (L.MLFLOW_PORT, PROMETHEUS_PORT)}
    assert inside == {
        port: {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "podSelector": {"matchLabels": pods},
        }
        for port, (namespace, pods) in CALLS[name].items()
    }
    (controller,) = [
        p for p in _objects(stack, "NetworkPolicy", "arc-systems") if p["metadata"]["name"] == "allow-egress"
    ]
    assert {port for _, port in _egress(controller)} == {L.DNS_PORT, L.HTTPS_PORT}
    # Each service admits the runners on its port alone (its namespace denies by default).
    for port, (namespace, pods) in CALLS[name].items():
        (admits,) = [
            p
            for p in _objects(stack, "NetworkPolicy", namespace)
            if p["metadata"]["name"].endswith("-from-runners")
        ]
        assert admits["spec"]["podSelector"] == {"matchLabels": pods}
        assert admits["spec"]["ingress"] == [
            {
                "from": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "arc-runners"}}}
                ],
                "ports": [{"protocol": "TCP", "port": port}],
            }
        ]


def test_the_scale_set_name_is_the_label_workflows_use():
    assert R.scale_set_name("registry") == "modelops-registry"
    assert R.github_config_url("example-org/modelops-platform") == "https://github.com/example-org"


def _workflow_labels() -> set[str]:
    return {
        label
        for path in (REPO_ROOT / ".github" / "workflows").glob("*.yml")
        for job in load_workflow(path)["jobs"].values()
        for label in hardening.self_hosted_labels(job)
    }


@pytest.mark.parametrize("label", sorted(_workflow_labels()))
def test_every_self_hosted_label_a_workflow_uses_is_a_scale_set_a_stack_declares(every_stack, label):
    declared = {
        r.inputs["values"]["runnerScaleSetName"]
        for stack in every_stack.values()
        for r in stack.of_type(RELEASE)
        if r.inputs["chart"] == ARC_RUNNER_SCALE_SET.chart
    }
    assert label in declared
