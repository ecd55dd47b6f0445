"""Every stack builds under mocks, has every part, and says what the platform promises.

The topology: one registry stack holds MLflow, its database, the locked artifact bucket and its key,
and CI's registry roles; each environment stack on AWS holds none of them, reads the registry
through a StackReference, and keeps its own payload bucket and model-reader role.
"""

from __future__ import annotations

import json
import shutil

import pytest

from modelops.errors import InputError
from modelops_infra.backends.aws_storage import payload_bucket_name, registry_bucket_name
from modelops_infra.components.registry import (
    OUTPUT_BUCKET_ARN,
    OUTPUT_BUCKET_NAME,
    OUTPUT_KEY_ARN,
    OUTPUT_MONITOR_PASSWORD,
    OUTPUT_URL,
)
from modelops_infra.manifests.iam import (
    REGISTERED_MODEL_PREFIX,
    model_monitor_role_arn,
    model_reader_role_arn,
    model_reader_role_name,
)
from modelops_infra.settings import load_registry_settings, load_settings
from modelops_policies import artifact_rules
from tests.infra.conftest import AWS_STACKS
from tests.infra.harness import STACK_REFERENCE, Declared, StackUnderTest, build_stack

# MonitorIdentity: every stack serves credit-risk (gitops/models), so each runs its monitor.
ENVIRONMENT = {"Monitoring", "Serving", "Ingress", "GitOps", "Security", "PayloadSink", "MonitorIdentity"}
ON_AWS = {"Network", "Cluster", "CiAccess", "ArtifactAccess", "Runners"}
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# What writes, deletes or unlocks an object: no environment principal may hold any on the registry's bucket.
OBJECT_CHANGES = artifact_rules.OBJECT_WRITE_ACTIONS


def _artifact_keys(stack):
    """KMS keys besides the cluster's own (EKS envelope encryption of Secrets)."""
    return [k for k in stack.of_type("aws:kms/key:Key") if k.name != "cluster-secrets"]


def _components(stack) -> set[str]:
    return {r.type.rsplit(":", 1)[-1] for r in stack.resources if r.type.startswith("modelops:platform:")}


def _mlflow(stack):
    return [
        d for d in stack.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"]["name"] == "mlflow"
    ]


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_the_stack_has_every_platform_part(stacks, name):
    # local runs its own MLflow; an environment on AWS only references the registry's.
    expected = ENVIRONMENT | ({"Registry"} if name == "local" else ON_AWS)
    assert _components(stacks[name]) == expected


def test_the_registry_stack_has_mlflow_its_database_the_locked_bucket_and_cis_roles(registry_stack):
    assert _components(registry_stack) == {
        "Network",
        "Cluster",
        "Security",
        "Registry",
        "ArtifactAccess",
        "CiAccess",
        "Ingress",
        "RegistryGateway",
        "Runners",
    }
    assert len(_mlflow(registry_stack)) == 1
    assert len(registry_stack.of_type("aws:rds/instance:Instance")) == 1
    (bucket,) = registry_stack.of_type(artifact_rules.BUCKET)
    assert bucket.inputs["bucket"] == registry_bucket_name()
    assert len(registry_stack.of_type(artifact_rules.OBJECT_LOCK)) == 1
    assert len(_artifact_keys(registry_stack)) == 1
    roles = {r.name for r in registry_stack.of_type("aws:iam/role:Role")}
    assert {"ci-preview", "ci-deploy", "ci-gate", "ci-retrain", "artifacts-job-writer"} <= roles
    assert "artifacts-model-reader" not in roles  # it serves no model
    assert len(registry_stack.of_type("aws:secretsmanager/secret:Secret")) == 2  # gate's, retrain's logins


def test_the_registry_stack_exports_what_the_environments_read(registry_stack):
    outputs = registry_stack.outputs
    for key in (OUTPUT_BUCKET_NAME, OUTPUT_BUCKET_ARN, OUTPUT_KEY_ARN, OUTPUT_URL, OUTPUT_MONITOR_PASSWORD):
        assert outputs[key], key
    assert outputs[OUTPUT_BUCKET_NAME] == registry_bucket_name()
    assert set(outputs["ci_role_arns"]) == {"preview", "deploy", "gate", "retrain"}
    assert set(outputs["ci_mlflow_secret_arns"]) == {"gate", "retrain"}


# --- Walking around the topology: an environment that keeps a registry of its own.


def _registry_parts(stack, name: str) -> list[str]:
    """What an environment stack holds that only the registry stack may: empty when it keeps to its part."""
    found = [
        f"bucket {b.inputs.get('bucket')}"
        for b in stack.of_type(artifact_rules.BUCKET)
        if b.inputs.get("bucket") != payload_bucket_name(name)  # the sink's, and nothing else
    ]
    kinds = (artifact_rules.OBJECT_LOCK, "aws:rds/instance:Instance")
    found += [r.type for r in stack.resources if r.type in kinds]
    found += [f"key {k.name}" for k in _artifact_keys(stack)]
    found += ["mlflow"] * len(_mlflow(stack))
    return found


@pytest.mark.parametrize("name", AWS_STACKS)
def test_an_environment_stack_declares_no_artifact_bucket_of_its_own(stacks, name):
    assert _registry_parts(stacks[name], name) == []


def test_an_environment_stack_that_keeps_its_old_artifact_bucket_is_caught(stacks):
    # The stack as it was before the registry moved out: its own bucket and MLflow, in name only.
    old = StackUnderTest(
        "dev",
        [
            *stacks["dev"].resources,
            Declared(
                artifact_rules.BUCKET, "registry-artifacts", {"bucket": "modelops-dev-mlflow-artifacts"}
            ),
            Declared("kubernetes:apps/v1:Deployment", "registry-server", {"metadata": {"name": "mlflow"}}),
        ],
    )
    assert _registry_parts(old, "dev") == ["bucket modelops-dev-mlflow-artifacts", "mlflow"]


@pytest.mark.parametrize("name", AWS_STACKS)
def test_an_environment_stack_runs_no_mlflow_database_or_registry_ci(stacks, name):
    stack = stacks[name]
    assert "Registry" not in _components(stack)
    assert not _mlflow(stack)
    assert not stack.of_type("aws:rds/instance:Instance")
    assert not stack.of_type("aws:secretsmanager/secret:Secret")  # CI's MLflow logins are the registry's
    roles = {r.name for r in stack.of_type("aws:iam/role:Role")}
    assert {"ci-preview", "ci-deploy"} <= roles
    assert not roles & {"ci-gate", "ci-retrain", "artifacts-job-writer"}


@pytest.mark.parametrize("name", AWS_STACKS)
def test_an_environment_stack_reads_the_registry_it_names(stacks, repo_root, registry_stack, name):
    (reference,) = stacks[name].of_type(STACK_REFERENCE)
    assert reference.inputs["name"] == load_settings(name, root=repo_root).platform.registry.stack
    # The model reader is granted the registry's bucket and key, as the reference gave them.
    (policy,) = [p for p in stacks[name].of_type(ROLE_POLICY) if p.name == "artifacts-model-reader"]
    resources = {
        r
        for s in json.loads(policy.inputs["policy"])["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    bucket, key = registry_stack.outputs[OUTPUT_BUCKET_ARN], registry_stack.outputs[OUTPUT_KEY_ARN]
    assert resources <= {bucket, f"{bucket}/{REGISTERED_MODEL_PREFIX}/*", key}
    assert key in resources


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_jobs_of_an_environment_talk_to_the_registrys_mlflow(stacks, registry_stack, name):
    url = registry_stack.outputs[OUTPUT_URL]
    found = [
        env["value"]
        for o in stacks[name].kubernetes_objects()
        if o["kind"] == "CronJob"
        for c in o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        for env in c.get("env", [])
        if env["name"] == "MLFLOW_TRACKING_URI"
    ]
    assert found and set(found) == {url}


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_model_reader_has_the_name_the_registrys_policies_grant(stacks, repo_root, name):
    (role,) = [r for r in stacks[name].of_type("aws:iam/role:Role") if r.name == "artifacts-model-reader"]
    assert role.inputs["name"] == model_reader_role_name(name)
    readers = {r.environment: r.account_id for r in load_registry_settings(root=repo_root).settings.readers}
    assert model_reader_role_arn(readers[name], name).endswith(f":role/{role.inputs['name']}")


@pytest.mark.parametrize("name", AWS_STACKS)
def test_no_environment_principal_may_write_or_delete_registered_artifacts(stacks, registry_stack, name):
    bucket = registry_stack.outputs[OUTPUT_BUCKET_ARN]
    for policy in stacks[name].of_type(ROLE_POLICY):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if not any(str(r).startswith(bucket) or r == "*" for r in resources):
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [a for a in actions if a in OBJECT_CHANGES or a.endswith("*")], policy.name
    # And the registry's bucket policy grants the environments' readers nothing but reads.
    (bucket_policy,) = registry_stack.of_type(artifact_rules.BUCKET_POLICY)
    for statement in json.loads(bucket_policy.inputs["policy"])["Statement"]:
        if statement["Effect"] == "Allow":
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert set(actions) <= {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"}


def test_the_registrys_policies_grant_each_environments_reader_and_monitor_and_no_one_else(
    registry_stack, repo_root
):
    listed = load_registry_settings(root=repo_root).settings.readers
    readers = sorted(model_reader_role_arn(r.account_id, r.environment) for r in listed)
    monitors = sorted(model_monitor_role_arn(r.account_id, r.environment) for r in listed)
    assert len(readers) == len(AWS_STACKS)
    (bucket_policy,) = registry_stack.of_type(artifact_rules.BUCKET_POLICY)
    (key,) = _artifact_keys(registry_stack)
    for document in (bucket_policy.inputs["policy"], key.inputs["policy"]):
        granted = [
            s["Condition"]["StringEquals"]["aws:PrincipalArn"]
            for s in json.loads(document)["Statement"]
            if s["Effect"] == "Allow" and "Condition" in s
        ]
        assert readers in granted and monitors in granted
        assert all(principals in (readers, monitors) for principals in granted)


def test_the_local_stack_creates_no_aws_resources_and_runs_its_own_storage(stacks):
    local = stacks["local"]
    assert not [r for r in local.resources if r.type.startswith("aws:")]
    assert not local.of_type(STACK_REFERENCE)
    stateful = {r.inputs["metadata"]["name"] for r in local.of_type("kubernetes:apps/v1:StatefulSet")}
    assert stateful == {"postgres", "minio"}
    (provider,) = local.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == load_settings("local").platform.kube_context


def test_an_environment_reading_another_projects_registry_is_refused(repo_root, tmp_path):
    root = tmp_path / "repo"
    for folder in ("environments", "policies"):
        shutil.copytree(repo_root / folder, root / folder)
    path = root / "environments" / "dev.yaml"
    path.write_text(
        path.read_text().replace("example-org/modelops-platform/registry", "example-org/other/registry")
    )
    with pytest.raises(
        InputError, match=r"dev\.yaml: field 'platform\.registry\.stack': .* not a stack of this project"
    ):
        build_stack(
            "dev",
            root=root,
            bootstrap_dir=repo_root / "gitops" / "bootstrap",
            models_dir=repo_root / "gitops" / "models",
            references={},
        )
