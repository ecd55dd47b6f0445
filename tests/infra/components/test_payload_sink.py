"""The payload sink: reached by model pods alone, writing under payloads/ alone, from a pinned image."""

from __future__ import annotations

import json
import tomllib

import pytest

from modelops.payloads.pairing import Scope
from modelops.payloads.sink import scope_of
from modelops.serving.contract import logger_url
from modelops_infra import layout as L
from modelops_infra.backends.aws_storage import payload_bucket_name, registry_bucket_name
from modelops_infra.components.payload_sink import SINK_APP, SINK_NAMESPACE
from modelops_infra.settings import load_settings
from modelops_infra.versions import MODELOPS_VERSION, modelops_image
from tests.infra.conftest import AWS_STACKS, STACKS

REPOSITORY_IMAGE = "ghcr.io/"  # every stack pulls it from this repository's GHCR


def _objects(stack, kind, name=None):
    return [
        o
        for o in stack.kubernetes_objects()
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def _container(stack):
    (deployment,) = _objects(stack, "Deployment", SINK_APP)
    assert deployment["metadata"]["namespace"] == L.JOBS_NAMESPACE
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return deployment, container


@pytest.mark.parametrize("name", STACKS)
def test_the_sink_runs_the_pinned_modelops_image_hardened_and_stores_under_payloads(stacks, name):
    deployment, container = _container(stacks[name])
    assert container["image"].startswith(REPOSITORY_IMAGE) and container["image"].endswith(
        f":v{MODELOPS_VERSION}"
    )
    assert not container["image"].endswith(":latest")
    # On AWS the environment's own payload bucket, never the registry's locked one.
    bucket = L.ARTIFACT_BUCKET_LOCAL if name == "local" else payload_bucket_name(name)
    assert bucket != registry_bucket_name()
    assert container["command"] == ["python", "-m", "modelops.payloads.sink"]
    assert container["args"][:2] == ["--store", f"s3://{bucket}/payloads"]
    assert "--allow-unauthenticated" in container["args"]  # the agent cannot send a token
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["allowPrivilegeEscalation"] is False
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] >= 30  # drain, then write what it holds
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("name", STACKS)
def test_a_request_and_its_response_from_one_pod_reach_one_sink_replica(stacks, name):
    (service,) = _objects(stacks[name], "Service", SINK_APP)
    assert service["spec"]["sessionAffinity"] == "ClientIP"
    assert service["spec"]["type"] == "ClusterIP"


@pytest.mark.parametrize("name", STACKS)
def test_only_model_pods_of_the_models_namespace_reach_the_sink_and_it_reaches_only_its_store(stacks, name):
    policies = {p["metadata"]["name"]: p for p in _objects(stacks[name], "NetworkPolicy")}
    models_namespace = next(
        ns["metadata"]["name"]
        for ns in _objects(stacks[name], "Namespace")
        if ns["metadata"]["labels"].get(L.SERVING_NAMESPACE_LABEL) == "true"
    )
    ingress = policies["payload-sink-from-models"]
    assert ingress["spec"]["podSelector"] == {"matchLabels": {"app": SINK_APP}}
    (rule,) = ingress["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": models_namespace}}
    assert peer["podSelector"] == {"matchExpressions": [{"key": L.MODEL_LABEL, "operator": "Exists"}]}
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    egress = policies["models-to-payload-sink"]
    assert egress["metadata"]["namespace"] == models_namespace
    assert egress["spec"]["policyTypes"] == ["Egress"]
    store = policies["payload-sink-to-store"]
    assert store["spec"]["policyTypes"] == ["Egress"]
    peers = [peer for rule in store["spec"]["egress"] for peer in rule["to"]]
    if name == "local":  # MinIO's pods only
        assert peers == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": L.STORAGE_NAMESPACE}},
                "podSelector": {"matchLabels": {"app": L.MINIO_APP}},
            }
        ]
    else:  # the S3 endpoint's addresses and the Pod Identity agent, never anywhere
        assert peers and all(set(peer) == {"ipBlock"} for peer in peers)
        assert {"cidr": "0.0.0.0/0"} not in [peer["ipBlock"] for peer in peers]


@pytest.mark.parametrize("name", AWS_STACKS)
def test_on_aws_the_sinks_role_may_put_objects_under_payloads_and_do_nothing_else(stacks, name, repo_root):
    stack = stacks[name]
    (role,) = [r for r in stack.of_type("aws:iam/role:Role") if r.name == "payloads-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert trust["aws:RequestTag/kubernetes-namespace"] == L.JOBS_NAMESPACE
    assert trust["aws:RequestTag/kubernetes-service-account"] == ["payload-sink"]
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "payloads-role"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    actions = {action for s in statements for action in s["Action"]}
    assert actions == {"s3:PutObject", "s3:ListBucket"}
    (put,) = [s for s in statements if s["Action"] == ["s3:PutObject"]]
    # The bucket the sink itself declares (the mocks' ARN for it), under payloads/ alone.
    (bucket,) = [b for b in stack.of_type("aws:s3/bucket:Bucket") if b.name == "payloads-bucket"]
    assert bucket.inputs["bucket"] == payload_bucket_name(name)
    assert put["Resource"] == f"arn:aws:s3:::{payload_bucket_name(name)}/payloads/*"
    (association,) = [
        a
        for a in stack.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "payload-sink"
    ]
    assert association.inputs["namespace"] == L.JOBS_NAMESPACE
    _, container = _container(stack)
    region = next(e["value"] for e in container["env"] if e["name"] == "AWS_REGION")
    assert region == load_settings(name, root=repo_root).platform.aws.region


def test_locally_the_sink_writes_to_minio_with_the_jobs_namespace_keys(stacks):
    _, container = _container(stacks["local"])
    assert container["envFrom"] == [{"secretRef": {"name": "artifact-store"}}]
    endpoint = next(e["value"] for e in container["env"] if e["name"] == "AWS_ENDPOINT_URL_S3")
    assert endpoint.startswith("http://minio.")


def test_the_logger_url_an_inference_service_renders_is_a_path_the_sink_takes():
    url = logger_url(model="credit-risk", release="candidate", version="4")
    # The host is this component's Service, in the jobs namespace it deploys to.
    assert url.startswith(f"http://{SINK_APP}.{SINK_NAMESPACE}.svc.cluster.local:8080/")
    assert SINK_NAMESPACE == L.JOBS_NAMESPACE
    path = url.split(":8080", 1)[1]
    assert scope_of(path) == Scope("credit-risk", "candidate", "4")


def test_the_image_tag_is_the_projects_version_so_a_change_ships_with_a_version_bump(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    assert project["version"] == MODELOPS_VERSION
    assert modelops_image("Example-Org/Repo") == f"ghcr.io/example-org/repo/modelops:v{MODELOPS_VERSION}"
    dockerfile = (repo_root / "infra" / "images" / "modelops" / "Dockerfile").read_text()
    assert "uv export --locked" in dockerfile and "--require-hashes" in dockerfile
