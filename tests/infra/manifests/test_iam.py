"""The artifact bucket's access policy: list, read, and for writers add; key use only when needed."""

from __future__ import annotations

import json

import pytest

from modelops_infra.manifests.iam import (
    REGISTERED_MODEL_PREFIX,
    artifact_access_policy,
    artifact_bucket_policy,
    model_reader_policy,
    model_reader_role_arn,
    registry_key_policy,
)

BUCKET = "arn:aws:s3::123456789012:registry-artifacts"


def test_a_customer_managed_bucket_key_adds_only_the_key_use_each_side_needs():
    key = "arn:aws:kms:eu-west-1:123456789012:key/abc"
    reader = json.loads(artifact_access_policy(BUCKET, write=False, kms_key_arn=key))["Statement"][-1]
    writer = json.loads(artifact_access_policy(BUCKET, write=True, kms_key_arn=key))["Statement"][-1]
    assert reader == {"Sid": "UseArtifactKey", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key}
    assert writer["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"] and writer["Resource"] == key
    assert "kms:" not in artifact_access_policy(BUCKET, write=True)  # aws/s3 key: nothing to grant


# The registry's side of cross-account reads (what they allow: test_registry_access.py).
DEV, PROD = "210000000001", "210000000003"
READERS = [model_reader_role_arn(PROD, "prod"), model_reader_role_arn(DEV, "dev")]


def test_the_reader_role_arn_is_fixed_by_account_and_environment():
    assert model_reader_role_arn(DEV, "dev") == f"arn:aws:iam::{DEV}:role/modelops-dev-model-reader"
    for bad in ("21000000000", "2100000000011", "*", "arn:aws:iam::210000000001:root"):
        with pytest.raises(ValueError, match="account id"):
            model_reader_role_arn(bad, "dev")


def test_without_readers_the_bucket_policy_only_denies():
    statements = json.loads(artifact_bucket_policy("b"))["Statement"]
    assert [s["Sid"] for s in statements] == ["DenyInsecureTransport", "DenyObjectDeletion"]
    assert {s["Effect"] for s in statements} == {"Deny"}


def test_readers_get_read_and_list_on_registered_prefixes_through_their_role_arn_only():
    statements = {s["Sid"]: s for s in json.loads(artifact_bucket_policy("b", readers=READERS))["Statement"]}
    accounts = {"AWS": [f"arn:aws:iam::{DEV}:root", f"arn:aws:iam::{PROD}:root"]}
    narrowed = {"aws:PrincipalArn": sorted(READERS)}
    assert statements["ReadRegisteredModels"] == {
        "Sid": "ReadRegisteredModels",
        "Effect": "Allow",
        "Principal": accounts,
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": f"arn:aws:s3:::b/{REGISTERED_MODEL_PREFIX}/*",
        "Condition": {"StringEquals": narrowed},
    }
    listing = statements["ListRegisteredModels"]
    assert listing["Action"] == ["s3:ListBucket"] and listing["Resource"] == "arn:aws:s3:::b"
    assert listing["Condition"] == {
        "StringEquals": narrowed,
        "StringLike": {"s3:prefix": [REGISTERED_MODEL_PREFIX, f"{REGISTERED_MODEL_PREFIX}/*"]},
    }
    deny = statements["DenyReadersAnythingElse"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"StringEquals": narrowed}
    assert deny["NotAction"] == ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]


@pytest.mark.parametrize(
    "reader",
    [
        "*",
        f"arn:aws:iam::{DEV}:root",  # a whole account
        f"arn:aws:iam::{DEV}:role/*",
        f"arn:aws:iam::{DEV}:role/modelops-dev-model-reader*",
        f"arn:aws:iam::{DEV}:user/modelops-dev-model-reader",
        f"arn:aws:iam::{DEV}:role/path/modelops-dev-model-reader",
        f"arn:aws:sts::{DEV}:assumed-role/modelops-dev-model-reader/session",
        DEV,
    ],
)
def test_a_reader_that_is_not_exactly_one_role_is_refused(reader):
    with pytest.raises(ValueError, match="exact ARN of one IAM role"):
        artifact_bucket_policy("b", readers=[reader])
    with pytest.raises(ValueError, match="exact ARN of one IAM role"):
        registry_key_policy(account_id=PROD, readers=[reader])


def test_the_key_policy_lets_the_owner_administer_and_readers_decrypt_through_s3_only():
    statements = json.loads(
        registry_key_policy(account_id="123456789012", readers=READERS, region="eu-west-1")
    )
    owner, readers = statements["Statement"]
    assert owner["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"} and owner["Action"] == "kms:*"
    assert readers["Action"] == "kms:Decrypt"
    assert readers["Condition"] == {
        "StringEquals": {"aws:PrincipalArn": sorted(READERS), "kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }
    anywhere = json.loads(registry_key_policy(account_id="123456789012", readers=READERS))["Statement"][1]
    assert anywhere["Condition"]["StringLike"] == {"kms:ViaService": "s3.*.amazonaws.com"}
    assert len(json.loads(registry_key_policy(account_id="123456789012", readers=[]))["Statement"]) == 1


def test_the_reader_decrypts_with_the_key_it_is_given_through_s3_in_its_region():
    key = "arn:aws:kms:eu-central-1:123456789012:key/abc"
    statement = json.loads(model_reader_policy("arn:aws:s3:::b", kms_key_arn=key))["Statement"][-1]
    assert statement == {
        "Sid": "DecryptThroughS3",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}},
    }
    for not_a_key in ("alias/registry", "arn:aws:s3:::b", "arn:aws:s3:eu-west-1:123456789012:key/abc"):
        with pytest.raises(ValueError, match="not a KMS key ARN"):
            model_reader_policy("arn:aws:s3:::b", kms_key_arn=not_a_key)
    actions = {a for s in json.loads(model_reader_policy("arn:aws:s3:::b"))["Statement"] for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion"}
