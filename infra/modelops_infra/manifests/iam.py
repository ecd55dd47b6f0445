"""IAM trust and access policies: every trust pinned by exact values, never by pattern."""

from __future__ import annotations

import json


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

    No DeleteObject, ever: the bucket is versioned and releases pin paths in it. KMS rights are
    only needed when the bucket's key is a customer-managed one; the AWS-managed `aws/s3` key is
    usable by anyone S3 lets through.
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
