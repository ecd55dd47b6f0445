"""MLflow's store on AWS, in the registry stack: a private, encrypted database and bucket, reached
through IRSA; and each environment's payload bucket, private, encrypted and TLS-only, apart from it."""

from __future__ import annotations

import json

import pytest

from modelops_infra.backends.aws_storage import (
    NOT_ARTIFACTS_TAG,
    payload_bucket_name,
    registry_artifact_uri,
    registry_bucket_name,
)
from modelops_infra.settings import load_registry_settings
from modelops_policies import artifact_rules
from tests.infra.conftest import AWS_STACKS

PUBLIC_ACCESS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def test_the_registry_database_and_bucket_are_private_and_encrypted(registry_stack, repo_root):
    registry = load_registry_settings(root=repo_root).settings.registry
    (db,) = registry_stack.of_type("aws:rds/instance:Instance")
    assert db.inputs["identifier"] == "modelops-registry-mlflow"
    assert db.inputs["storageEncrypted"] is True
    assert db.inputs.get("publiclyAccessible", False) is False
    assert db.inputs.get("multiAz", False) is registry.multi_az
    assert db.inputs.get("deletionProtection", False) is registry.deletion_protection
    (block,) = registry_stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[f] for f in PUBLIC_ACCESS)
    (versioning,) = registry_stack.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"


def test_the_one_registry_keeps_its_database_across_zones_and_deletes(registry_stack):
    # It serves prod: it is held to prod's standard.
    (db,) = registry_stack.of_type("aws:rds/instance:Instance")
    assert db.inputs["multiAz"] is True and db.inputs["deletionProtection"] is True


def test_mlflow_reaches_its_bucket_through_irsa(registry_stack):
    (account,) = [
        a
        for a in registry_stack.of_type("kubernetes:core/v1:ServiceAccount")
        if a.inputs["metadata"]["namespace"] == "mlflow"
    ]
    assert account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    trusts = [json.loads(r.inputs["assumeRolePolicy"]) for r in registry_stack.of_type("aws:iam/role:Role")]
    subjects = [
        v
        for t in trusts
        for s in t["Statement"]
        for k, v in s.get("Condition", {}).get("StringEquals", {}).items()
        if k.endswith(":sub")
    ]
    assert "system:serviceaccount:mlflow:mlflow" in subjects


def test_one_bucket_name_for_every_environment_and_none_per_environment():
    assert registry_bucket_name() == "modelops-registry-mlflow-artifacts"
    assert (
        registry_artifact_uri("1", "m-abc")
        == "s3://modelops-registry-mlflow-artifacts/1/models/m-abc/artifacts"
    )
    assert {payload_bucket_name(env) for env in AWS_STACKS} == {
        f"modelops-{env}-payloads" for env in AWS_STACKS
    }
    assert registry_bucket_name() not in {payload_bucket_name(env) for env in AWS_STACKS}


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_payload_bucket_is_the_environments_private_encrypted_and_tls_only(stacks, name):
    stack = stacks[name]
    (bucket,) = stack.of_type(artifact_rules.BUCKET)
    assert bucket.inputs["bucket"] == payload_bucket_name(name)
    assert bucket.inputs["tags"] == NOT_ARTIFACTS_TAG  # payloads are no model artifacts: no lock
    (block,) = stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[f] for f in PUBLIC_ACCESS)
    (encryption,) = stack.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    (policy,) = stack.of_type(artifact_rules.BUCKET_POLICY)
    assert policy.inputs["bucket"] == payload_bucket_name(name)
    assert artifact_rules.denies_insecure_transport(policy.inputs["policy"])
    assert artifact_rules.denies_deletes(policy.inputs["policy"])
    allows = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Effect"] == "Allow"]
    assert allows == []  # no other account reads an environment's payloads
