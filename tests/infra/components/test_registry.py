"""The MLflow server: authenticated, answering its in-cluster names only, on a safe version; its
artifact bucket keeps every registered artifact (versioned, Object-Locked, deletes denied, TLS only)
and the server itself only reads it. On AWS all of it is the registry stack's alone: environment
stacks run no MLflow (tests/infra/test_platform.py)."""

from __future__ import annotations

import json
import os
import re
import urllib.error

import boto3
import pyarrow as pa
import pytest
from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository

from modelops.payloads.store import Store, store_location
from modelops_infra import layout as L
from modelops_infra import versions
from modelops_infra.backends import backend
from modelops_infra.backends.aws_storage import ARTIFACT_RETENTION_DAYS, registry_bucket_name
from modelops_infra.manifests.iam import model_monitor_role_arn, model_reader_role_arn
from modelops_infra.settings import load_registry_settings
from modelops_policies import artifact_rules
from tests.infra.conftest import AWS_STACKS
from tests.policies.stack_args import from_declared, resource_args, violations
from tests.s3_stand_in import put


@pytest.fixture(scope="module")
def hosted(stacks, registry_stack):
    """The stacks that run an MLflow: local's own, and the shared registry."""
    return {"local": stacks["local"], "registry": registry_stack}


@pytest.mark.parametrize("name", ["local", "registry"])
def test_mlflow_runs_authenticated_with_allowed_hosts_on_a_safe_version(hosted, name):
    (deployment,) = [
        d
        for d in hosted[name].of_type("kubernetes:apps/v1:Deployment")
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
        for s in hosted[name].of_type("kubernetes:core/v1:Service")
        if s.inputs["metadata"]["name"] == "mlflow"
    ]
    assert services[0].inputs["spec"]["type"] == "ClusterIP"


def _one(stack, type_):
    (found,) = stack.of_type(type_)
    return found.inputs


def test_the_artifact_bucket_is_versioned_and_locked_in_governance_mode(registry_stack):
    stack, bucket = registry_stack, registry_bucket_name()
    assert _one(stack, "aws:s3/bucket:Bucket")["bucket"] == bucket
    # Lock through its own resource: an existing bucket gets it without being replaced.
    assert "objectLockEnabled" not in _one(stack, "aws:s3/bucket:Bucket")
    versioning = _one(stack, artifact_rules.VERSIONING)
    assert versioning == {"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}}
    lock = _one(stack, artifact_rules.OBJECT_LOCK)
    assert lock == {
        "bucket": bucket,
        "objectLockEnabled": "Enabled",
        "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": ARTIFACT_RETENTION_DAYS}},
    }
    assert ARTIFACT_RETENTION_DAYS >= 365


def test_the_bucket_policy_is_tls_only_denies_every_delete_and_lets_readers_and_monitors_only_read(
    registry_stack, repo_root
):
    bucket = registry_bucket_name()
    policy = _one(registry_stack, artifact_rules.BUCKET_POLICY)
    assert policy["bucket"] == bucket
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    assert statements["DenyInsecureTransport"] == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert statements["DenyObjectDeletion"] == {
        "Sid": "DenyObjectDeletion",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    # Every Allow is for the environments' model readers or monitors, and only reads; the runs'
    # datasets only for the monitors.
    listed = load_registry_settings(root=repo_root).settings.readers
    readers = sorted(model_reader_role_arn(r.account_id, r.environment) for r in listed)
    monitors = sorted(model_monitor_role_arn(r.account_id, r.environment) for r in listed)
    allows = [s for s in statements.values() if s["Effect"] == "Allow"]
    assert {allow["Sid"] for allow in allows} == {
        "ReadRegisteredModels",
        "ListRegisteredModels",
        "MonitorsReadModelsAndDatasets",
        "MonitorsListModelsAndDatasets",
    }
    for allow in allows:
        granted = allow["Condition"]["StringEquals"]["aws:PrincipalArn"]
        assert granted == (monitors if allow["Sid"].startswith("Monitors") else readers)
        actions = allow["Action"] if isinstance(allow["Action"], list) else [allow["Action"]]
        assert set(actions) <= {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"}
        if granted == readers:
            assert "datasets" not in json.dumps(allow)
    assert statements["MonitorsReadModelsAndDatasets"]["Resource"] == [
        f"arn:aws:s3:::{bucket}/*/models/m-*/artifacts/*",
        f"arn:aws:s3:::{bucket}/*/*/artifacts/datasets/*",
    ]
    for kind, granted in (("Readers", readers), ("Monitors", monitors)):
        denied = statements[f"Deny{kind}AnythingElse"]
        assert denied["Condition"]["StringEquals"]["aws:PrincipalArn"] == granted
        assert denied["NotAction"] == ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]


def test_the_mlflow_server_only_lists_and_reads_its_bucket(registry_stack):
    (policy,) = [
        p for p in registry_stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "registry-artifacts"
    ]
    assert policy.inputs["role"] == "registry-irsa-id"  # the server's IRSA role (the mocks' id)
    bucket = "arn:aws:s3:::modelops-registry-mlflow-artifacts"  # the mocks' ARN for the bucket
    key = "arn:aws:kms:eu-west-1:123456789012:registry-artifacts"  # and for its key
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {"Sid": "ListArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket},
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{bucket}/*"},
        {"Sid": "UseArtifactKey", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key},
    ]


def test_the_bucket_is_encrypted_with_its_own_key_which_readers_and_monitors_may_only_decrypt(
    registry_stack, repo_root
):
    (key,) = [k for k in registry_stack.of_type("aws:kms/key:Key") if k.name == "registry-artifacts"]
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    registry = load_registry_settings(root=repo_root).settings
    assert statements["OwningAccountAdministers"]["Principal"] == {
        "AWS": f"arn:aws:iam::{registry.account_id}:root"
    }
    for sid, role_arn in (
        ("ReadersDecryptThroughS3", model_reader_role_arn),
        ("MonitorsDecryptThroughS3", model_monitor_role_arn),
    ):
        decrypt = statements[sid]
        assert decrypt["Condition"]["StringEquals"] == {
            "aws:PrincipalArn": sorted(role_arn(r.account_id, r.environment) for r in registry.readers),
            "kms:ViaService": f"s3.{registry.aws.region}.amazonaws.com",
        }
        assert decrypt["Action"] == "kms:Decrypt"
    # No one else.
    assert set(statements) == {
        "OwningAccountAdministers",
        "ReadersDecryptThroughS3",
        "MonitorsDecryptThroughS3",
    }
    (encryption,) = registry_stack.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": "arn:aws:kms:eu-west-1:123456789012:registry-artifacts",  # the mocks' key ARN
    }


def test_the_rules_name_the_servers_identity_as_infra_does():
    assert artifact_rules.MLFLOW_NAMESPACE == L.MLFLOW_NAMESPACE
    assert artifact_rules.MLFLOW_SERVICE_ACCOUNT == backend.SERVICE_ACCOUNT


@pytest.mark.parametrize("name", ["registry", *AWS_STACKS])
def test_every_aws_stack_passes_the_artifact_rules(stacks, registry_stack, name):
    stack = registry_stack if name == "registry" else stacks[name]
    args = from_declared(stack.resources, name=name)
    assert not violations(artifact_rules.artifact_buckets_immutable, args)
    assert not violations(artifact_rules.mlflow_server_reads_only, args)
    for policy in stack.of_type(artifact_rules.BUCKET_POLICY):
        assert not violations(
            artifact_rules.bucket_policy_tls_only, resource_args(policy.type, policy.inputs)
        )


def test_the_rules_see_the_server_role_in_the_mocked_stack(registry_stack):
    # The stack rule must find the real server role, or its passing above proves nothing.
    declared = list(registry_stack.resources)
    old = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "*"}
            ],
        }
    )
    swapped = [
        type(d)(d.type, d.name, {**d.inputs, "policy": old})
        if d.name == "registry-artifacts" and "rolePolicy" in d.type
        else d
        for d in declared
    ]
    found = violations(artifact_rules.mlflow_server_reads_only, from_declared(swapped, name="registry"))
    assert found and "s3:PutObject" in found[0] and "s3:DeleteObject" in found[0]


@pytest.mark.parametrize(
    "dropped", [artifact_rules.OBJECT_LOCK, artifact_rules.BUCKET_POLICY, artifact_rules.VERSIONING]
)
def test_the_rules_catch_the_mocked_stack_without_each_guard(registry_stack, dropped):
    declared = [d for d in registry_stack.resources if d.type != dropped]
    assert violations(artifact_rules.artifact_buckets_immutable, from_declared(declared, name="registry"))


def test_the_rules_catch_an_environment_that_drops_the_payload_buckets_exemption(stacks):
    # The payload bucket passes as tagged "no artifacts"; untagged it would be held to the lock.
    declared = [
        type(d)(d.type, d.name, {k: v for k, v in d.inputs.items() if k != "tags"})
        if d.type == artifact_rules.BUCKET
        else d
        for d in stacks["prod"].resources
    ]
    assert violations(artifact_rules.artifact_buckets_immutable, from_declared(declared, name="prod"))


def _carries_a_checksum(request: dict[str, str]) -> bool:
    """What S3 asks of a write into a bucket with a default retention: Content-MD5 or an x-amz-checksum.

    moto checks single PutObjects only (Content-MD5 or x-amz-sdk-checksum-algorithm), not the parts
    of a multipart upload, which is how pyarrow writes; this checks every PUT, parts included. A
    trailing checksum (x-amz-trailer, pyarrow's) counts: whether S3 takes it for a locked part is
    not shown here.
    """
    trailer = request.get("x-amz-trailer", "")
    return (
        "content-md5" in request
        or any(key.startswith("x-amz-checksum-") for key in request)
        or trailer.startswith("x-amz-checksum-")
    )


def test_every_writer_of_the_locked_bucket_sends_the_checksum_object_lock_requires(
    recording_s3, monkeypatch, tmp_path
):
    endpoint, requests = recording_s3
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(variable, value)
    bucket = registry_bucket_name()
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": ARTIFACT_RETENTION_DAYS}},
        },
    )
    requests.clear()

    # MLflow's own S3 client, as a job's log_model uploads with --no-serve-artifacts.
    model = tmp_path / "model.pkl"
    model.write_bytes(b"weights" * 1000)
    S3ArtifactRepository(f"s3://{bucket}/1/models/m-abc/artifacts").log_artifact(str(model))
    # The payload sink's store (pyarrow's S3 client): its own bucket is not locked, but a store
    # that drops the checksum would break the day payloads are locked too.
    sink = Store(
        store_location(f"s3://{bucket}/payloads", env={"AWS_ENDPOINT_URL_S3": endpoint, **os.environ})
    )
    written = sink.write(pa.table({"x": [1, 2, 3]}), folder="credit-risk/r1/1")

    # A client that sends no checksum (a plain PUT): moto, like S3, refuses it on a locked bucket.
    with pytest.raises(urllib.error.HTTPError) as refused:
        put(endpoint, f"{bucket}/legacy-client", b"x")
    assert refused.value.code == 400

    writes = [r for r in requests if r["method"] == "PUT" and r["path"].count("/") > 1]
    paths = {r["path"] for r in writes}
    assert f"/{bucket}/1/models/m-abc/artifacts/model.pkl" in paths
    assert any(path.startswith(f"/{bucket}/payloads/credit-risk/r1/1/") for path in paths), written
    assert [r["path"] for r in writes if not _carries_a_checksum(r)] == [f"/{bucket}/legacy-client"]
