"""IAM trust and access policies: every trust pinned by exact values, never by pattern."""

from __future__ import annotations

import json
from collections.abc import Sequence


def service_trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
# What EKS Pod Identity needs: AssumeRole, and TagSession to attach the session tags the
# conditions below read (cluster, namespace and service account of the pod).
POD_IDENTITY_ACTIONS = ["sts:AssumeRole", "sts:TagSession"]


def pod_identity_trust(cluster_name: str, namespace: str, service_accounts: list[str]) -> str:
    """Trust for EKS Pod Identity, narrowed to one cluster, one namespace and the named accounts.

    The association already decides which account gets the role; pinning the session tags as well
    means a second association made by hand (to another namespace or account) gets nothing.
    """
    if not service_accounts:
        raise ValueError("a Pod Identity role needs at least one service account to trust")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": POD_IDENTITY_SERVICE},
                    "Action": POD_IDENTITY_ACTIONS,
                    "Condition": {
                        "StringEquals": {
                            "aws:RequestTag/eks-cluster-name": cluster_name,
                            "aws:RequestTag/kubernetes-namespace": namespace,
                            "aws:RequestTag/kubernetes-service-account": sorted(service_accounts),
                        }
                    },
                }
            ],
        }
    )


def artifact_access_policy(
    bucket_arn: str,
    *,
    write: bool,
    kms_key_arn: str | None = None,
    secret_arns: tuple[str, ...] = (),
) -> str:
    """Least privilege on the artifact bucket: list it, read (and, for writers, add) objects.

    The MLflow server, model pods, the monitor and the gate read; jobs that log to MLflow and CI's
    retrain add. No delete, version delete, retention change or governance bypass, ever: releases
    pin paths in the bucket (and the bucket policy denies deletes to everyone besides,
    `artifact_bucket_policy`). A writer can still put a new version over an existing key: IAM
    cannot tell a new key from an old one, and S3's only test for that, a conditional write
    (`If-None-Match: *`, enforceable with the `s3:if-none-match` condition key), is not sent by
    MLflow's boto3 uploads, so requiring it would break every log_model. The overwritten version
    stays in the bucket, locked (see `aws_storage`), and can be restored. KMS rights are only
    needed when the bucket's key is a customer-managed one; the AWS-managed `aws/s3` key is usable
    by anyone S3 lets through.
    """
    object_actions = ["s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"]
    statements: list[dict[str, object]] = [
        {"Sid": "ListArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
        {
            "Sid": "WriteArtifacts" if write else "ReadArtifacts",
            "Effect": "Allow",
            "Action": object_actions,
            "Resource": f"{bucket_arn}/*",
        },
    ]
    if kms_key_arn:
        key_actions = ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
        statements.append(
            {"Sid": "UseArtifactKey", "Effect": "Allow", "Action": key_actions, "Resource": kms_key_arn}
        )
    if secret_arns:
        statements.append(
            {
                "Sid": "ReadMlflowCredentials",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": sorted(secret_arns),
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


# What removes a stored version, hides it behind a delete marker, or unlocks it.
OBJECT_DELETE_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]


def artifact_bucket_policy(bucket_name: str, *, readers: Sequence[str] = ()) -> str:
    """The artifact bucket's own policy: TLS only, and no principal deletes an object.

    A bucket policy's Deny binds every principal of every account, administrators and the deploy
    role included, whatever their IAM policies allow; removing it is itself a change to this
    stack and a CloudTrail event. Denying the governance bypass makes the Object Lock retention
    hold for everyone until the policy is changed first. ARNs from the literal name: the policy
    pack reads this document at preview, before the bucket exists.
    """
    bucket_arn = f"arn:aws:s3:::{bucket_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "DenyObjectDeletion",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": OBJECT_DELETE_ACTIONS,
                    "Resource": f"{bucket_arn}/*",
                },
                *_reader_grants(bucket_arn, readers),
            ],
        }
    )


def web_identity_trust(
    provider_arn: str,
    issuer_host: str,
    subject: str,
    audience: str,
    *,
    workflow_refs: tuple[str, ...] = (),
) -> str:
    """`StringEquals` on `sub`, `aud` and (GitHub) `job_workflow_ref`: `StringLike` would let wildcards in.

    `workflow_refs` lists the workflow files, at the ref they must run from, whose jobs may assume
    the role; a list in `StringEquals` matches any one of them.
    """
    equals: dict[str, str | list[str]] = {f"{issuer_host}:sub": subject, f"{issuer_host}:aud": audience}
    if workflow_refs:
        equals[f"{issuer_host}:job_workflow_ref"] = sorted(workflow_refs)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": equals},
                }
            ],
        }
    )


# --- Cross-account read of the shared registry (minimal form; the registry's access rules refine it).
# Principals are named as their account's root narrowed by `aws:PrincipalArn`, not as the role ARN:
# S3 and KMS refuse a policy naming a role that does not exist yet, and the registry stack is
# deployed before the environments' roles are created.
MODEL_READER_ROLE = "modelops-{environment}-model-reader"
# MLflow 3's logged-model layout: `<experiment id>/models/<model id>/artifacts/...`.
REGISTERED_PREFIX = "*/models/*"


def model_reader_role_name(environment: str) -> str:
    return MODEL_READER_ROLE.format(environment=environment)


def model_reader_role_arn(account_id: str, environment: str) -> str:
    """The model-reader role an environment's stack creates, as the registry's policies name it."""
    return f"arn:aws:iam::{account_id}:role/{model_reader_role_name(environment)}"


def _account_root(role_arn: str) -> str:
    return f"arn:aws:iam::{role_arn.split(':')[4]}:root"


def _reader_grants(bucket_arn: str, readers: Sequence[str]) -> list[dict[str, object]]:
    if not readers:
        return []
    principal = {"AWS": sorted({_account_root(arn) for arn in readers})}
    condition = {"ArnEquals": {"aws:PrincipalArn": sorted(readers)}}
    return [
        {
            "Sid": "ReadersListRegisteredModels",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {**condition, "StringLike": {"s3:prefix": [REGISTERED_PREFIX]}},
        },
        {
            "Sid": "ReadersGetRegisteredModels",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{bucket_arn}/{REGISTERED_PREFIX}",
            "Condition": condition,
        },
    ]


def registry_key_policy(*, account_id: str, readers: Sequence[str]) -> str:
    """The artifact bucket's KMS key: administered by its own account, decrypt-only for the readers."""
    statements: list[dict[str, object]] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if readers:
        statements.append(
            {
                "Sid": "ReadersDecrypt",
                "Effect": "Allow",
                "Principal": {"AWS": sorted({_account_root(arn) for arn in readers})},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": sorted(readers)}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
