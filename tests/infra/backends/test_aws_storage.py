"""MLflow's store on AWS: a private, encrypted database and bucket, reached through IRSA."""

from __future__ import annotations

import json

import pytest

from modelops_infra.settings import load_settings
from tests.infra.conftest import AWS_STACKS


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
