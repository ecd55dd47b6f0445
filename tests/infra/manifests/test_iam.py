"""The artifact bucket's access policy: list, read, and for writers add; key use only when needed."""

from __future__ import annotations

import json

from modelops_infra.manifests.iam import artifact_access_policy

BUCKET = "arn:aws:s3::123456789012:registry-artifacts"


def test_a_customer_managed_bucket_key_adds_only_the_key_use_each_side_needs():
    key = "arn:aws:kms:eu-west-1:123456789012:key/abc"
    reader = json.loads(artifact_access_policy(BUCKET, write=False, kms_key_arn=key))["Statement"][-1]
    writer = json.loads(artifact_access_policy(BUCKET, write=True, kms_key_arn=key))["Statement"][-1]
    assert reader == {"Sid": "UseArtifactKey", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key}
    assert writer["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"] and writer["Resource"] == key
    assert "kms:" not in artifact_access_policy(BUCKET, write=True)  # aws/s3 key: nothing to grant
