"""Artifact buckets without versioning, lock, TLS-only or the delete deny, and an MLflow server role
that can write, are refused; the platform's own bucket policy and read-only server role pass."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelops_infra.backends.aws_storage import registry_bucket_name
from modelops_infra.manifests.iam import artifact_access_policy, artifact_bucket_policy
from modelops_policies import STACK_POLICIES, artifact_rules
from tests.policies.stack_args import resource, resource_args, stack, violations

R = artifact_rules
NAME = registry_bucket_name()
ARN = f"arn:aws:s3:::{NAME}"


def _bucket(tags: dict[str, str] | None = None):
    return resource(R.BUCKET, "artifacts", {"bucket": NAME, **({"tags": tags} if tags else {})})


def _versioning(status="Enabled"):
    return resource(R.VERSIONING, "v", {"bucket": NAME, "versioningConfiguration": {"status": status}})


def _lock(retention: dict[str, Any] | None = None, **extra):
    rule = {"defaultRetention": retention if retention is not None else {"mode": "GOVERNANCE", "days": 365}}
    return resource(R.OBJECT_LOCK, "lock", {"bucket": NAME, "rule": rule, **extra})


def _policy(document: Any = None, *, bucket: str = NAME):
    text = document if isinstance(document, str) else json.dumps(document)
    return resource(R.BUCKET_POLICY, "policy", {"bucket": bucket, "policy": text if document else ""})


def _good() -> list:
    return [_bucket(), _versioning(), _lock(), _policy(artifact_bucket_policy(NAME))]


def _statement(sid: str) -> dict[str, Any]:
    (found,) = [s for s in json.loads(artifact_bucket_policy(NAME))["Statement"] if s["Sid"] == sid]
    return found


TLS, NO_DELETE = _statement("DenyInsecureTransport"), _statement("DenyObjectDeletion")


def test_the_platforms_bucket_passes():
    assert not violations(R.artifact_buckets_immutable, stack(_good()))


def test_a_bucket_marked_as_holding_no_model_artifacts_is_exempt():
    assert not violations(R.artifact_buckets_immutable, stack([_bucket({R.EXEMPT_TAG: "false"})]))


def _without(kind: str) -> list:
    return [r for r in _good() if r.resource_type != kind]


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


BAD_STACKS = {
    # The bucket as it was before: versioned, nothing else.
    "versioned-only": [_bucket(), _versioning()],
    "untagged-no-lock": _without(R.OBJECT_LOCK),
    "no-versioning": _without(R.VERSIONING),
    "versioning-suspended": [*_without(R.VERSIONING), _versioning("Suspended")],
    "lock-without-retention": [*_without(R.OBJECT_LOCK), _lock({})],
    "lock-zero-days": [*_without(R.OBJECT_LOCK), _lock({"mode": "GOVERNANCE", "days": 0})],
    "lock-unknown-mode": [*_without(R.OBJECT_LOCK), _lock({"mode": "NONE", "days": 30})],
    "lock-on-another-bucket": [
        *_without(R.OBJECT_LOCK),
        resource(
            R.OBJECT_LOCK,
            "x",
            {"bucket": "other", "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 1}}},
        ),
    ],
    "no-policy": _without(R.BUCKET_POLICY),
    "tls-only-no-delete-deny": [*_without(R.BUCKET_POLICY), _policy(_doc(TLS))],
    "delete-deny-no-tls": [*_without(R.BUCKET_POLICY), _policy(_doc(NO_DELETE))],
    # Deletes denied on one prefix only: every other key (and the next registered one) stays deletable.
    "delete-deny-on-a-prefix": [
        *_without(R.BUCKET_POLICY),
        _policy(_doc(TLS, {**NO_DELETE, "Resource": f"{ARN}/1/models/*"})),
    ],
    # Denied to one principal only, or with an escape condition.
    "delete-deny-for-one-role": [
        *_without(R.BUCKET_POLICY),
        _policy(_doc(TLS, {**NO_DELETE, "Principal": {"AWS": "arn:aws:iam::1:role/ci"}})),
    ],
    "delete-deny-with-condition": [
        *_without(R.BUCKET_POLICY),
        _policy(_doc(TLS, {**NO_DELETE, "Condition": {"StringNotEquals": {"aws:PrincipalTag/x": "y"}}})),
    ],
    "delete-deny-missing-version-delete": [
        *_without(R.BUCKET_POLICY),
        _policy(_doc(TLS, {**NO_DELETE, "Action": ["s3:DeleteObject"]})),
    ],
    "policy-on-another-bucket": [
        *_without(R.BUCKET_POLICY),
        _policy(artifact_bucket_policy("other"), bucket="other"),
    ],
}


@pytest.mark.parametrize("resources", BAD_STACKS.values(), ids=BAD_STACKS.keys())
def test_an_artifact_bucket_missing_a_guard_is_caught(resources):
    assert violations(R.artifact_buckets_immutable, stack(resources))


def test_a_wildcard_delete_deny_counts():
    wide = {**NO_DELETE, "Action": "s3:*"}
    resources = [*_without(R.BUCKET_POLICY), _policy(_doc(TLS, wide))]
    assert not violations(R.artifact_buckets_immutable, stack(resources))


BAD_TLS = {
    "none": _doc(NO_DELETE),
    "allow-not-deny": _doc({**TLS, "Effect": "Allow"}),
    "true-not-false": _doc({**TLS, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
    "objects-only": _doc({**TLS, "Resource": f"{ARN}/*"}),
    "get-only": _doc({**TLS, "Action": "s3:GetObject"}),
    "one-principal": _doc({**TLS, "Principal": {"AWS": "arn:aws:iam::1:root"}}),
    "extra-condition": _doc(
        {**TLS, "Condition": {**TLS["Condition"], "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    ),
    "unparsable": "{",
}


@pytest.mark.parametrize("document", BAD_TLS.values(), ids=BAD_TLS.keys())
def test_a_bucket_policy_that_is_not_tls_only_is_caught(document):
    text = document if isinstance(document, str) else json.dumps(document)
    assert violations(R.bucket_policy_tls_only, resource_args(R.BUCKET_POLICY, {"policy": text}))


def test_the_platforms_bucket_policy_is_tls_only():
    args = resource_args(R.BUCKET_POLICY, {"policy": artifact_bucket_policy(NAME)})
    assert not violations(R.bucket_policy_tls_only, args)


# The MLflow server's role, as IRSA gives it (the Pod Identity form is checked too).
IRSA_TRUST = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/oidc.eks"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "oidc.eks/id/X:sub": "system:serviceaccount:mlflow:mlflow",
                        "oidc.eks/id/X:aud": "sts.amazonaws.com",
                    }
                },
            }
        ]
    }
)
POD_IDENTITY_TRUST = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": "modelops-prod",
                        "aws:RequestTag/kubernetes-namespace": "mlflow",
                        "aws:RequestTag/kubernetes-service-account": ["mlflow"],
                    }
                },
            }
        ]
    }
)
OLD_SERVER_POLICY = json.dumps(  # what the server had: put and delete on every object
    _doc(
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ARN},
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{ARN}/*",
        },
    )
)


def _server(policy: str, *, trust: str = IRSA_TRUST, by_name: bool = False):
    role = resource(R.ROLE, "registry-irsa", {"assumeRolePolicy": trust, "name": "mlflow-server"})
    if by_name:
        return [role, resource(R.ROLE_POLICY, "p", {"role": "mlflow-server", "policy": policy})]
    return [
        role,
        resource(R.ROLE_POLICY, "p", {"role": "unknown", "policy": policy}, depends={"role": [role]}),
    ]


def test_a_read_only_mlflow_server_role_passes():
    for trust in (IRSA_TRUST, POD_IDENTITY_TRUST):
        resources = _server(artifact_access_policy(ARN, write=False), trust=trust)
        assert not violations(R.mlflow_server_reads_only, stack(resources))


def _statement_allowing(*actions: str) -> str:
    return json.dumps(_doc({"Effect": "Allow", "Action": list(actions), "Resource": f"{ARN}/*"}))


BAD_SERVER = {
    "old-policy": _server(OLD_SERVER_POLICY),
    "put": _server(_statement_allowing("s3:PutObject")),
    "delete-by-name": _server(_statement_allowing("s3:DeleteObject"), by_name=True),
    "pod-identity-put": _server(artifact_access_policy(ARN, write=True), trust=POD_IDENTITY_TRUST),
    "wildcard": _server(_statement_allowing("s3:Put*")),
    "bypass": _server(_statement_allowing("s3:BypassGovernanceRetention")),
    "not-action": _server(
        json.dumps(_doc({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}))
    ),
    "inline": [
        resource(
            R.ROLE,
            "registry-irsa",
            {"assumeRolePolicy": IRSA_TRUST, "inlinePolicies": [{"name": "x", "policy": OLD_SERVER_POLICY}]},
        )
    ],
    "managed": [
        *_server(artifact_access_policy(ARN, write=False)),
        resource(
            R.ATTACHMENT,
            "a",
            {"role": "mlflow-server", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"},
        ),
    ],
}


@pytest.mark.parametrize("resources", BAD_SERVER.values(), ids=BAD_SERVER.keys())
def test_an_mlflow_server_role_that_can_write_is_caught(resources):
    assert violations(R.mlflow_server_reads_only, stack(resources))


def test_writers_other_than_the_server_are_not_its_concern():
    job_trust = POD_IDENTITY_TRUST.replace('"mlflow"', '"modelops-jobs"')
    role = resource(R.ROLE, "job-writer", {"assumeRolePolicy": job_trust})
    policy = resource(
        R.ROLE_POLICY, "p", {"policy": artifact_access_policy(ARN, write=True)}, depends={"role": [role]}
    )
    assert not violations(R.mlflow_server_reads_only, stack([role, policy]))


def test_the_stack_rules_are_in_the_pack():
    names = {p.name for p in STACK_POLICIES}
    assert {"artifact-buckets-immutable", "mlflow-server-reads-only"} <= names
