"""The monitor CronJob in every stack: who it is (ServiceAccount, Role, MLflow login, AWS role), what it
reads its thresholds from, and where it may connect; all read-only."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
from ruamel.yaml import YAML

from modelops_infra import layout as L
from modelops_infra.backends.aws_storage import payload_bucket_name
from modelops_infra.backends.local_access import JOB_SECRET
from modelops_infra.manifests.iam import model_monitor_role_name
from modelops_infra.manifests.model_monitor import (
    LOGIN_SECRET,
    MONITOR_APP,
    POLICIES_ROOT,
    SERVICE_ACCOUNT,
    TOKEN_DIR,
)
from modelops_infra.settings import load_settings
from modelops_infra.versions import modelops_image
from tests.infra.conftest import AWS_STACKS, STACKS
from tests.infra.workload_pods import workload_pod
from tests.tools import require

try:
    from nca.nca_cli import nca_main
except ImportError:  # pragma: no cover - the infra dependency group is missing
    nca_main = None

MODEL = "credit-risk"
# The registry stack's bucket and key, as its outputs (the mocks' ARNs) reach environment stacks.
BUCKET = "arn:aws:s3:::modelops-registry-mlflow-artifacts"
KEY = "arn:aws:kms:eu-west-1:123456789012:registry-artifacts"


def _objects(stack, kind, name=None):
    return [
        o
        for o in stack.kubernetes_objects()
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def _pod(stack):
    (cronjob,) = _objects(stack, "CronJob", f"monitor-{MODEL}")
    assert cronjob["metadata"]["namespace"] == L.JOBS_NAMESPACE
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


@pytest.mark.parametrize("name", STACKS)
def test_each_served_model_is_monitored_with_the_releases_the_cluster_runs_and_the_repositorys_policies(
    stacks, repo_root, name
):
    settings = load_settings(name, root=repo_root)
    pod, container = _pod(stacks[name])
    assert container["image"] == modelops_image(settings.github_repository)
    assert container["args"] == ["monitor", MODEL, "--env", name, "--window", "1h"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MODELOPS_MODELS_NAMESPACE"]["value"] == settings.models_namespace
    (sink,) = _objects(stacks[name], "Deployment", "payload-sink")
    store = sink["spec"]["template"]["spec"]["containers"][0]["args"][1]
    assert env["MODELOPS_PAYLOADS"]["value"] == store  # where the sink writes
    # Thresholds: the environment's file and the model's policy, mounted where MODELOPS_ROOT points.
    assert env["MODELOPS_ROOT"]["value"] == POLICIES_ROOT
    (configmap,) = _objects(stacks[name], "ConfigMap", "model-monitor-policies")
    (volume,) = [v for v in pod["volumes"] if v["name"] == "policies"]
    mounted = {item["path"]: configmap["data"][item["key"]] for item in volume["configMap"]["items"]}
    assert mounted == {
        f"environments/{name}.yaml": (repo_root / "environments" / f"{name}.yaml").read_text(),
        f"policies/models/{MODEL}.yaml": (repo_root / "policies" / "models" / f"{MODEL}.yaml").read_text(),
    }
    assert {"name": "policies", "mountPath": POLICIES_ROOT, "readOnly": True} in container["volumeMounts"]


@pytest.mark.parametrize("name", STACKS)
def test_the_monitor_shows_the_api_server_a_projected_token_of_its_own_account_and_may_only_read(
    stacks, repo_root, name
):
    models = load_settings(name, root=repo_root).models_namespace
    pod, container = _pod(stacks[name])
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT and pod["automountServiceAccountToken"] is False
    (token,) = [v for v in pod["volumes"] if v["name"] == "api-token"]
    sources = token["projected"]["sources"]
    assert sources[0]["serviceAccountToken"]["expirationSeconds"] <= 3600
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert {"name": "api-token", "mountPath": TOKEN_DIR, "readOnly": True} in container["volumeMounts"]
    (account,) = _objects(stacks[name], "ServiceAccount", SERVICE_ACCOUNT)
    assert account["metadata"]["namespace"] == L.JOBS_NAMESPACE
    # One Role, in the models namespace, get and list of the two kinds that say what runs; no ClusterRole.
    (role,) = _objects(stacks[name], "Role", SERVICE_ACCOUNT)
    assert role["metadata"]["namespace"] == models
    assert role["rules"] == [
        {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "list"]},
        {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes"], "verbs": ["get", "list"]},
    ]
    (binding,) = _objects(stacks[name], "RoleBinding", SERVICE_ACCOUNT)
    assert binding["metadata"]["namespace"] == models
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": SERVICE_ACCOUNT,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": L.JOBS_NAMESPACE}
    ]
    assert not [
        b
        for b in _objects(stacks[name], "ClusterRoleBinding")
        if SERVICE_ACCOUNT in json.dumps(b["subjects"])
    ]


@pytest.mark.parametrize("name", STACKS)
def test_the_monitor_logs_in_to_mlflow_as_its_own_read_only_user(stacks, registry_stack, name):
    # local's MLflow is its own; on AWS it is the registry stack's, reached by its exported URL.
    hosted = stacks["local"] if name == "local" else registry_stack
    url = (
        "http://mlflow.mlflow.svc.cluster.local:5000"
        if name == "local"
        else registry_stack.outputs["mlflow_url"]
    )
    _, container = _pod(stacks[name])
    env = {e["name"]: e for e in container["env"]}
    for variable, key in (("MLFLOW_TRACKING_USERNAME", "username"), ("MLFLOW_TRACKING_PASSWORD", "password")):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": LOGIN_SECRET, "key": key}
    assert env["MLFLOW_TRACKING_URI"]["value"] == url
    (login,) = _objects(stacks[name], "Secret", LOGIN_SECRET)
    assert login["metadata"]["namespace"] == L.JOBS_NAMESPACE
    (users,) = _objects(hosted, "Secret", "mlflow-service-users")
    given = {u["username"]: u for u in json.loads(users["stringData"]["users.json"])}
    # The registry's users Job creates exactly the login the CronJob is given.
    user = given[login["stringData"]["username"]]
    assert user["password"] == login["stringData"]["password"]
    assert {(g["resource_type"], g["permission"]) for g in user["grants"]} == {
        ("registered_model", "READ"),
        ("experiment", "READ"),
    }


@pytest.mark.parametrize("name", AWS_STACKS)
def test_on_aws_the_monitors_role_may_list_and_get_in_the_two_buckets_and_nothing_else(stacks, name):
    stack = stacks[name]
    (role,) = [r for r in stack.of_type("aws:iam/role:Role") if r.name == "monitor-role"]
    # The name the registry's bucket and key policies grant (tests/infra/test_registry_access.py).
    assert role.inputs["name"] == model_monitor_role_name(name) == f"modelops-{name}-model-monitor"
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert trust["aws:RequestTag/eks-cluster-name"] == f"modelops-{name}"
    assert trust["aws:RequestTag/kubernetes-namespace"] == L.JOBS_NAMESPACE
    assert trust["aws:RequestTag/kubernetes-service-account"] == [SERVICE_ACCOUNT]
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "monitor-role"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert {action for s in statements.values() for action in s["Action"]} == {
        "s3:ListBucket",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "kms:Decrypt",
    }
    # The registry's bucket: registered models and the runs' datasets, listed under those only.
    assert statements["ReadModelsAndDatasets"]["Resource"] == [
        f"{BUCKET}/*/models/m-*/artifacts/*",
        f"{BUCKET}/*/*/artifacts/datasets/*",
    ]
    assert statements["ListModelsAndDatasets"]["Resource"] == BUCKET
    assert statements["ListModelsAndDatasets"]["Condition"] == {
        "StringLike": {"s3:prefix": ["*/models/m-*/artifacts/*", "*/*/artifacts/datasets/*"]}
    }
    # Its key, to decrypt through S3 only.
    assert statements["DecryptThroughS3"]["Resource"] == KEY
    assert statements["DecryptThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }
    assert set(statements) == {"ReadModelsAndDatasets", "ListModelsAndDatasets", "DecryptThroughS3"}
    # And the environment's own payload bucket, read-only.
    (payloads,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "monitor-payloads"]
    statements = json.loads(payloads.inputs["policy"])["Statement"]
    assert {action for s in statements for action in s["Action"]} == {"s3:ListBucket", "s3:GetObject"}
    payload_bucket = f"arn:aws:s3:::{payload_bucket_name(name)}"
    assert sorted(s["Resource"] for s in statements) == [payload_bucket, f"{payload_bucket}/*"]
    _, container = _pod(stack)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MODELOPS_PAYLOADS"] == f"s3://{payload_bucket_name(name)}/payloads"
    (association,) = [
        a.inputs
        for a in stack.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == SERVICE_ACCOUNT
    ]
    assert association["namespace"] == L.JOBS_NAMESPACE and association["roleArn"].endswith(":monitor-role")
    _, container = _pod(stack)
    assert "envFrom" not in container  # no keys: Pod Identity
    assert {"name": "AWS_REGION", "value": load_settings(name).platform.aws.region} in container["env"]


def test_locally_the_monitor_reads_minio_with_the_jobs_namespaces_keys(stacks):
    _, container = _pod(stacks["local"])
    assert container["envFrom"] == [{"secretRef": {"name": JOB_SECRET}}]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AWS_ENDPOINT_URL_S3"] == "http://minio.object-storage.svc.cluster.local:9000"
    assert env["MODELOPS_PAYLOADS"] == f"s3://{L.ARTIFACT_BUCKET_LOCAL}/payloads"


def _egress_of_the_monitor(stack, folder):
    """What network-config-analyzer says the monitor's pod may reach, given every policy of the stack."""
    objects = stack.kubernetes_objects()
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    namespaces.append(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "kube-system", "labels": {"kubernetes.io/metadata.name": "kube-system"}},
        }
    )
    pods = [
        workload_pod(L.JOBS_NAMESPACE, "monitor", {"app": MONITOR_APP, "modelops.io/model": MODEL}, 8000),
        workload_pod(L.JOBS_NAMESPACE, "other-job", {"app": "drift"}, 8000),
        workload_pod("monitoring", "pushgateway", {"app": "pushgateway"}, 9091),
        workload_pod("monitoring", "prometheus", {"app.kubernetes.io/name": "prometheus"}, 9090),
        workload_pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, 53),
        workload_pod(
            "models-prod", "model", {"modelops.io/model": MODEL, "modelops.io/release": "stable"}, 8080
        ),
        workload_pod("argocd", "argocd-server", {"app.kubernetes.io/name": "argocd-server"}, 8080),
    ]
    yaml = YAML(typ="safe")
    with (folder / "policies.yaml").open("w") as handle:
        yaml.dump_all([o for o in objects if o["kind"] == "NetworkPolicy"], handle)
    with (folder / "namespaces.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "NamespaceList", "items": namespaces}, handle)
    with (folder / "pods.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "PodList", "items": pods}, handle)
    out = folder / "connectivity.txt"
    arguments = ["--connectivity", str(folder / "policies.yaml"), "--pod_list", str(folder / "pods.yaml")]
    arguments += ["--ns_list", str(folder / "namespaces.yaml"), "--output_format", "txt_no_fw_rules"]
    nca_main([*arguments, "--file_out", str(out)])
    pairs = {}
    for line in out.read_text().splitlines():
        if match := re.match(r"^(\S+?)(?:\[Pod\])? => (\S+?)(?:\[Pod\])? : (.+)$", line.strip()):
            pairs[(match[1], match[2])] = match[3]
    return {dst: c for (src, dst), c in pairs.items() if src == f"{L.JOBS_NAMESPACE}/monitor"}, pairs


def _ports(connection: str) -> set[int]:
    found = re.search(r"dst_ports:([\d,\-]+)", connection or "")
    ports: set[int] = set()
    for part in found[1].split(",") if found else []:
        low, _, high = part.partition("-")
        ports |= set(range(int(low), int(high or low) + 1))
    return ports


def test_nca_on_aws_the_monitor_reaches_the_api_server_mlflow_s3_its_credentials_and_the_pushgateway_only(
    stacks, repo_root, tmp_path
):
    require(nca_main is not None, "network-config-analyzer (nca)")
    egress, pairs = _egress_of_the_monitor(stacks["prod"], tmp_path)
    pods = {dst: _ports(c) for dst, c in egress.items() if "/" in dst}
    # The registry's MLflow is reached at its public TLS address (below): the cluster has no mlflow
    # namespace, and no policy of the jobs namespace names one.
    assert pods == {"kube-system/coredns": {53}, "monitoring/pushgateway": {9091}}
    # Only the monitor pushes: another job of the namespace may not.
    assert (f"{L.JOBS_NAMESPACE}/other-job", "monitoring/pushgateway") not in pairs
    vpc = ipaddress.ip_network(load_settings("prod", root=repo_root).platform.network.vpc_cidr)
    private = [
        ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
    ]
    agent = L.POD_IDENTITY_AGENT_CIDR.removesuffix("/32")
    outside = {dst: _ports(c) for dst, c in egress.items() if "/" not in dst}
    assert outside.pop(agent) == {80}
    # The API server and S3's endpoint inside the VPC, and the registry's Gateway on the internet
    # (no private network but the VPC's own), all on 443 only.
    public = 0
    for addresses, ports in outside.items():
        low, _, high = addresses.partition("-")
        first, last = ipaddress.ip_address(low), ipaddress.ip_address(high or low)
        inside = first in vpc and last in vpc
        if not inside:
            assert not any(first in n or last in n for n in private), addresses
            public += 1
        assert ports == {443}, addresses
    assert public, "the monitor cannot reach the registry's public address"
