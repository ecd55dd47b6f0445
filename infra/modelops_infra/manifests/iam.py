"""IAM trust and access policies: every trust pinned by exact values, never by pattern."""

from __future__ import annotations

import json
import re
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

# Where MLflow 3 keeps a logged model's files: `<experiment id>/models/<model id>/artifacts/...`
# under the artifact root (model ids are `m-` and 32 hex digits; run artifacts live under
# `<experiment id>/<run id>/artifacts/`). A registered version's storage location is one of these,
# and overlays pin `s3://<bucket>/<this prefix>`. IAM's `*` spans `/`, so the pattern also matches
# a run artifact logged under a path that itself reads `models/m-…/artifacts/`; only the
# registry's writers can create such a key.
REGISTERED_MODEL_PREFIX = "*/models/m-*/artifacts"
# What a model reader may do on those keys: read an object, or one pinned version of it.
MODEL_READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
# The `s3:prefix` values a reader may list with: KServe's storage initializer lists the pinned
# URI's key without a trailing slash, MLflow's clients with one.
REGISTERED_MODEL_LIST_PREFIXES = [REGISTERED_MODEL_PREFIX, f"{REGISTERED_MODEL_PREFIX}/*"]
# Where `modelops register` stores a version's training and evaluation data with its run,
# `<experiment id>/<run id>/artifacts/datasets/<file>`: the monitor's reference for drift. As above,
# IAM's `*` spans `/`, so the pattern also matches a `datasets/` folder under a registered model
# (which the monitor reads anyway) or under any run artifact path ending in `artifacts`; only the
# registry's writers can create such keys. Model pods never get it.
RUN_DATASET_PREFIX = "*/*/artifacts/datasets"
# The monitor's objects, and the `s3:prefix` values MLflow's client lists with: always with a
# trailing slash (`S3ArtifactRepository.list_artifacts`), for the folder itself (the model, the
# run's `datasets/`), its subfolders, and the file a download probes as a folder first.
MONITOR_OBJECT_PREFIXES = [REGISTERED_MODEL_PREFIX, RUN_DATASET_PREFIX]
MONITOR_LIST_PREFIXES = [f"{prefix}/*" for prefix in MONITOR_OBJECT_PREFIXES]

_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/[\w+=,.@-]+")


def _account(account_id: str) -> str:
    if not re.fullmatch(r"\d{12}", account_id):
        raise ValueError(f"{account_id!r} is not an AWS account id (12 digits)")
    return account_id


def model_reader_role_name(environment: str) -> str:
    """The model-reader role's name in an environment's account: fixed, so the registry's bucket and
    key policies can name it before (and without) reading the environment's stack."""
    return f"modelops-{environment}-model-reader"


def model_reader_role_arn(account_id: str, environment: str) -> str:
    return f"arn:aws:iam::{_account(account_id)}:role/{model_reader_role_name(environment)}"


def model_monitor_role_name(environment: str) -> str:
    """The monitor job's role's name in an environment's account: fixed, as the reader's is, so the
    registry's bucket and key policies can name it without reading the environment's stack."""
    return f"modelops-{environment}-model-monitor"


def model_monitor_role_arn(account_id: str, environment: str) -> str:
    return f"arn:aws:iam::{_account(account_id)}:role/{model_monitor_role_name(environment)}"


def _reader_accounts(readers: Sequence[str]) -> list[str]:
    """The accounts of the reader roles, each role checked to be one exact role ARN.

    An account root, a user or a wildcard would widen the grant past one role, so it is refused.
    """
    accounts = []
    for reader in readers:
        match = _ROLE_ARN.fullmatch(reader)
        if match is None:
            raise ValueError(f"{reader!r} is not the exact ARN of one IAM role (no wildcard, no root)")
        accounts.append(f"arn:aws:iam::{match.group(1)}:root")
    return sorted(set(accounts))


def _readers(readers: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Principal and `StringEquals` condition naming the reader roles of other accounts.

    The Principal is each reader's account and `aws:PrincipalArn` narrows it to the role: a role ARN
    as Principal must exist when the policy is saved (S3 and KMS refuse the policy otherwise) and is
    stored as the role's unique id, so a role created after the registry's `pulumi up`, or deleted
    and created again, would get nothing. The condition compares the ARN itself at each request.
    """
    return {"AWS": _reader_accounts(readers)}, {"aws:PrincipalArn": sorted(readers)}


def artifact_bucket_policy(
    bucket_name: str, *, readers: Sequence[str] = (), monitors: Sequence[str] = ()
) -> str:
    """The artifact bucket's own policy: TLS only, no principal deletes an object, the model readers
    of the environments (`readers`, role ARNs) read registered models and nothing else, and their
    monitor jobs (`monitors`, role ARNs) read registered models and the runs' datasets, nothing else.

    A bucket policy's Deny binds every principal of every account, administrators and the deploy
    role included, whatever their IAM policies allow; removing it is itself a change to this
    stack and a CloudTrail event. Denying the governance bypass makes the Object Lock retention
    hold for everyone until the policy is changed first. ARNs from the literal name: the policy
    pack reads this document at preview, before the bucket exists.

    A reader in another account needs an Allow here and in its own role policy
    (`model_reader_policy`, `model_monitor_policy`); this side grants `MODEL_READ_ACTIONS` on the
    kind's object prefixes and listing under them only, and denies each kind every other S3 action
    on the bucket, so a broader role policy in an environment's account adds nothing.
    """
    bucket_arn = f"arn:aws:s3:::{bucket_name}"
    if both := set(readers) & set(monitors):
        raise ValueError(f"{sorted(both)} named as model reader and monitor: model pods read no datasets")
    statements: list[dict[str, object]] = [
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
    ]
    if readers:
        statements += _read_only_grant(
            bucket_arn,
            readers,
            objects=[REGISTERED_MODEL_PREFIX],
            list_prefixes=REGISTERED_MODEL_LIST_PREFIXES,
            sids=("ReadRegisteredModels", "ListRegisteredModels", "DenyReadersAnythingElse"),
        )
    if monitors:
        statements += _read_only_grant(
            bucket_arn,
            monitors,
            objects=MONITOR_OBJECT_PREFIXES,
            list_prefixes=MONITOR_LIST_PREFIXES,
            sids=(
                "MonitorsReadModelsAndDatasets",
                "MonitorsListModelsAndDatasets",
                "DenyMonitorsAnythingElse",
            ),
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _read_only_grant(
    bucket_arn: str,
    roles: Sequence[str],
    *,
    objects: Sequence[str],
    list_prefixes: Sequence[str],
    sids: tuple[str, str, str],
) -> list[dict[str, object]]:
    """Get/GetVersion on `objects` (key prefixes), listing with `list_prefixes` only, and a Deny of
    every other S3 action on the bucket, for `roles` of other accounts."""
    principal, equals = _readers(roles)
    resources = [f"{bucket_arn}/{prefix}/*" for prefix in objects]
    read, listing, deny = sids
    return [
        {
            "Sid": read,
            "Effect": "Allow",
            "Principal": principal,
            "Action": MODEL_READ_ACTIONS,
            "Resource": resources[0] if len(resources) == 1 else resources,
            "Condition": {"StringEquals": equals},
        },
        {
            "Sid": listing,
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": {"StringEquals": equals, "StringLike": {"s3:prefix": list(list_prefixes)}},
        },
        {
            "Sid": deny,
            "Effect": "Deny",
            "Principal": principal,
            "NotAction": [*MODEL_READ_ACTIONS, "s3:ListBucket"],
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"StringEquals": equals},
        },
    ]


def registry_key_policy(
    *, account_id: str, readers: Sequence[str], monitors: Sequence[str] = (), region: str | None = None
) -> str:
    """The registry's KMS key policy: the owning account administers it (through its IAM policies,
    AWS's default key policy), and the model readers and monitors (role ARNs) may only decrypt,
    only through S3.

    `kms:ViaService` is `s3.<region>.amazonaws.com`, the bucket's region (S3 calls KMS in the
    bucket's region, with a key of that region). Without `region` it is any region's S3, which
    for a regional key comes to the same; pass it to say so exactly.
    """
    owner = f"arn:aws:iam::{_account(account_id)}:root"
    statements: list[dict[str, object]] = [
        {
            "Sid": "OwningAccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": owner},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    for sid, roles in (("ReadersDecryptThroughS3", readers), ("MonitorsDecryptThroughS3", monitors)):
        if not roles:
            continue
        principal, equals = _readers(roles)
        through_s3: dict[str, dict[str, object]] = (
            {"StringEquals": {**equals, "kms:ViaService": f"s3.{region}.amazonaws.com"}}
            if region
            else {"StringEquals": dict(equals), "StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}
        )
        statements.append(
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": principal,
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": through_s3,
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def model_reader_policy(bucket_arn: str, *, kms_key_arn: str | None = None) -> str:
    """The model reader's role policy, in its environment's account: list and read registered
    models (`REGISTERED_MODEL_PREFIX`) of the registry's bucket, and decrypt with its key through S3.

    Both sides must allow a cross-account read; the bucket policy (`artifact_bucket_policy`) says
    the same from the registry's side. The key's region, for `kms:ViaService`, is read from its ARN.
    """
    return _registry_read_policy(
        bucket_arn,
        objects=[REGISTERED_MODEL_PREFIX],
        list_prefixes=REGISTERED_MODEL_LIST_PREFIXES,
        sids=("ListRegisteredModels", "ReadRegisteredModels"),
        kms_key_arn=kms_key_arn,
    )


def model_monitor_policy(bucket_arn: str, *, kms_key_arn: str | None = None) -> str:
    """The monitor job's role policy on the registry's bucket, in its environment's account: list and
    read registered models and the runs' datasets (`MONITOR_OBJECT_PREFIXES`), decrypt through S3.
    The bucket policy's monitor grant (`artifact_bucket_policy(monitors=...)`) is the other side."""
    return _registry_read_policy(
        bucket_arn,
        objects=MONITOR_OBJECT_PREFIXES,
        list_prefixes=MONITOR_LIST_PREFIXES,
        sids=("ListModelsAndDatasets", "ReadModelsAndDatasets"),
        kms_key_arn=kms_key_arn,
    )


def _registry_read_policy(
    bucket_arn: str,
    *,
    objects: Sequence[str],
    list_prefixes: Sequence[str],
    sids: tuple[str, str],
    kms_key_arn: str | None,
) -> str:
    resources = [f"{bucket_arn}/{prefix}/*" for prefix in objects]
    statements: list[dict[str, object]] = [
        {
            "Sid": sids[0],
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": list(list_prefixes)}},
        },
        {
            "Sid": sids[1],
            "Effect": "Allow",
            "Action": MODEL_READ_ACTIONS,
            "Resource": resources[0] if len(resources) == 1 else resources,
        },
    ]
    if kms_key_arn:
        parts = kms_key_arn.split(":")
        region = parts[3] if len(parts) >= 6 and parts[:3] == ["arn", "aws", "kms"] else ""
        if not region:
            raise ValueError(f"{kms_key_arn!r} is not a KMS key ARN (arn:aws:kms:<region>:...)")
        statements.append(
            {
                "Sid": "DecryptThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def web_identity_trust(
    provider_arn: str,
    issuer_host: str,
    subject: str | Sequence[str],
    audience: str,
) -> str:
    """`StringEquals` on `aud`, and on `sub` for exact subjects: `StringLike` would let wildcards in.

    `subject` is one subject or several (a list in a condition matches any one of them). A subject
    with `*` is a pattern, matched with `StringLike`: only GitHub's pull-request subjects, whose
    number is the one wildcard their trust may hold (CrossGuard's github_subjects.py checks it).
    Exact subjects and patterns are not mixed in one role: one statement ANDs its operators.
    """
    subjects = sorted([subject] if isinstance(subject, str) else subject)
    patterns = [s for s in subjects if "*" in s or "?" in s]
    if patterns and len(patterns) != len(subjects):
        raise ValueError("a role trusts exact subjects or patterns, not both")
    claim = subjects[0] if len(subjects) == 1 else subjects
    conditions: dict[str, dict[str, str | list[str]]] = {"StringEquals": {f"{issuer_host}:aud": audience}}
    if patterns:
        conditions["StringLike"] = {f"{issuer_host}:sub": claim}
    else:
        conditions["StringEquals"][f"{issuer_host}:sub"] = claim
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": conditions,
                }
            ],
        }
    )
