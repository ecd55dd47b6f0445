"""Every stack builds under mocks, has every part, and says what the platform promises."""

from __future__ import annotations

import json
import re

import pytest

from modelops_infra import versions
from modelops_infra.settings import load_settings
from tests.infra.harness import build_stack

AWS_STACKS = ("dev", "staging", "prod")
ISSUER = "token.actions.githubusercontent.com"
COMPONENTS = {"Registry", "Monitoring", "Serving", "GitOps", "Security"}


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_the_stack_has_every_platform_part(stacks, name):
    kinds = {
        r.type.rsplit(":", 1)[-1] for r in stacks[name].resources if r.type.startswith("modelops:platform:")
    }
    aws_only = {"Network", "Cluster", "CiAccess", "ArtifactAccess"}
    expected = COMPONENTS | (aws_only if name != "local" else set())
    assert kinds == expected


def test_the_local_stack_creates_no_aws_resources_and_runs_its_own_storage(stacks):
    local = stacks["local"]
    assert not [r for r in local.resources if r.type.startswith("aws:")]
    stateful = {r.inputs["metadata"]["name"] for r in local.of_type("kubernetes:apps/v1:StatefulSet")}
    assert stateful == {"postgres", "minio"}
    (provider,) = local.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == load_settings("local").platform.kube_context


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_network_spans_three_zones_with_nat_and_endpoints(stacks, repo_root, name):
    stack, settings = stacks[name], load_settings(name, root=repo_root)
    zones = {s.inputs["availabilityZone"] for s in stack.of_type("aws:ec2/subnet:Subnet")}
    assert zones == set(settings.platform.aws.availability_zones)
    nats = stack.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (1 if settings.platform.network.nat_gateways == "one" else 3)
    services = {
        e.inputs["serviceName"].rsplit(".", 1)[-1] for e in stack.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert {"s3", "dkr", "api"} <= services


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_cluster_encrypts_secrets_logs_and_hides_its_endpoint_outside_dev(stacks, name):
    (cluster,) = stacks[name].of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert set(cluster.inputs["enabledClusterLogTypes"]) >= {"api", "audit", "authenticator"}
    public = cluster.inputs["vpcConfig"].get("endpointPublicAccess", True)  # absent = AWS default, public
    assert public is (name == "dev")
    for template in stacks[name].of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_gpu_node_groups_follow_the_environment(stacks, repo_root):
    for name in AWS_STACKS:
        groups = stacks[name].of_type("aws:eks/nodeGroup:NodeGroup")
        wants_gpu = load_settings(name, root=repo_root).platform.serving.gpu_inference
        assert any(g.inputs["amiType"].endswith("NVIDIA") for g in groups) is wants_gpu


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_registry_database_and_bucket_are_private_and_encrypted(stacks, repo_root, name):
    stack, registry = stacks[name], load_settings(name, root=repo_root).platform.registry
    (db,) = stack.of_type("aws:rds/instance:Instance")
    assert db.inputs["storageEncrypted"] is True
    assert db.inputs.get("publiclyAccessible", False) is False
    assert db.inputs.get("multiAz", False) is registry.multi_az
    assert db.inputs.get("deletionProtection", False) is registry.deletion_protection
    (block,) = stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[f]
        for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (versioning,) = stack.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"


def test_prod_keeps_its_database_across_zones_and_deletes(stacks):
    (db,) = stacks["prod"].of_type("aws:rds/instance:Instance")
    assert db.inputs["multiAz"] is True and db.inputs["deletionProtection"] is True


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


@pytest.mark.parametrize("name", AWS_STACKS)
def test_mlflow_reaches_its_bucket_through_irsa(stacks, name):
    (account,) = [
        a
        for a in stacks[name].of_type("kubernetes:core/v1:ServiceAccount")
        if a.inputs["metadata"]["namespace"] == "mlflow"
    ]
    assert account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    trusts = [json.loads(r.inputs["assumeRolePolicy"]) for r in stacks[name].of_type("aws:iam/role:Role")]
    subjects = [
        v
        for t in trusts
        for s in t["Statement"]
        for k, v in s.get("Condition", {}).get("StringEquals", {}).items()
        if k.endswith(":sub")
    ]
    assert "system:serviceaccount:mlflow:mlflow" in subjects


@pytest.mark.parametrize("name", AWS_STACKS)
def test_ci_roles_trust_this_repository_its_pull_requests_and_protected_environments_only(
    stacks, repo_root, name
):
    repository = load_settings(name, root=repo_root).github_repository
    trusts = [json.loads(r.inputs["assumeRolePolicy"]) for r in stacks[name].of_type("aws:iam/role:Role")]
    github = [
        s for t in trusts for s in t["Statement"] if "token.actions" in json.dumps(s.get("Condition", {}))
    ]
    subjects = sorted(s["Condition"]["StringEquals"][f"{ISSUER}:sub"] for s in github)
    # preview and gate on pull requests; deploy in the stack's environment; retrain in `retrain`.
    assert subjects == sorted(
        [
            f"repo:{repository}:pull_request",
            f"repo:{repository}:pull_request",
            f"repo:{repository}:environment:{name}",
            f"repo:{repository}:environment:registry",
        ]
    )


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
def test_model_namespace_is_restricted_and_every_owned_namespace_denies_by_default(stacks, repo_root, name):
    models = load_settings(name, root=repo_root).models_namespace
    namespaces = {
        n.inputs["metadata"]["name"]: n.inputs["metadata"]["labels"]
        for n in stacks[name].of_type("kubernetes:core/v1:Namespace")
    }
    assert namespaces[models]["pod-security.kubernetes.io/enforce"] == "restricted"
    denies = {
        p.inputs["metadata"]["namespace"]
        for p in stacks[name].of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["name"] == "default-deny"
    }
    assert denies == set(namespaces)


@pytest.mark.parametrize("name", ["local", "prod"])
def test_slo_alerts_take_their_thresholds_from_the_environment_file(stacks, repo_root, name):
    environment = load_settings(name, root=repo_root)
    (rule,) = stacks[name].of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    alerts = {a["alert"]: a["expr"] for a in rule.inputs["spec"]["groups"][0]["rules"]}
    assert set(alerts) == {
        "ModelErrorRateHigh",
        "ModelLatencyP95High",
        "ModelDriftHigh",
        "ModelScrapeMissing",
    }
    assert alerts["ModelLatencyP95High"].endswith(
        f"> {environment.environment.promotion.latency.p95_ms / 1000}"
    )
    assert alerts["ModelDriftHigh"].endswith(
        f"> {environment.environment.promotion.drift.distance_threshold}"
    )
    assert alerts["ModelErrorRateHigh"].endswith(f"> {environment.platform.monitoring.slo.error_rate}")
    (dashboard,) = [
        c
        for c in stacks[name].of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == "modelops-serving-dashboard"
    ]
    panels = json.loads(dashboard.inputs["data"]["modelops-serving.json"])["panels"]
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    assert (
        "histogram_quantile(0.95" in exprs
        and "modelops_drift_score" in exprs
        and "by (model, release" in exprs
    )


@pytest.mark.parametrize("folder", ["absent", "empty", "fixture"])
def test_gitops_applies_whatever_the_bootstrap_folder_holds(repo_root, tmp_path, folder):
    from tests.infra.conftest import FIXTURES

    bootstrap = {"absent": tmp_path / "missing", "empty": tmp_path, "fixture": FIXTURES / "bootstrap"}[folder]
    stack = build_stack("local", root=repo_root, bootstrap_dir=bootstrap)
    argo = {
        (r.type.rsplit(":", 1)[-1], r.inputs["metadata"]["name"])
        for r in stack.resources
        if ":argoproj.io/" in r.type
    }
    expected = {
        "absent": set(),
        "empty": set(),
        "fixture": {("AppProject", "models"), ("ApplicationSet", "models")},
    }
    assert argo == expected[folder]


def test_the_real_bootstrap_folder_applies_every_project_and_the_application_set(repo_root):
    from modelops_infra.components.gitops import bootstrap_manifests

    kinds = sorted(
        (document["kind"], document["metadata"]["name"])
        for _, document in bootstrap_manifests(repo_root / "gitops" / "bootstrap")
    )
    projects = [name for kind, name in kinds if kind == "AppProject"]
    assert projects == ["models-dev", "models-local", "models-prod", "models-staging"]  # in projects/
    assert ("ApplicationSet", "models") in kinds


def test_each_cluster_generates_only_its_own_environment(repo_root):
    from modelops_infra.components.gitops import bootstrap_manifests, for_this_cluster

    application_set = next(
        document
        for _, document in bootstrap_manifests(repo_root / "gitops" / "bootstrap")
        if document["kind"] == "ApplicationSet"
    )
    narrowed = for_this_cluster(application_set, "prod")
    files = [g["git"]["files"] for g in narrowed["spec"]["generators"]]
    assert files == [[{"path": "environments/prod.yaml"}]]
    assert application_set["spec"]["generators"][0]["git"]["files"] == [{"path": "environments/*.yaml"}]
