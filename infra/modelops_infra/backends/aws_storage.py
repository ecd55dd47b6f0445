"""MLflow's store on AWS (the registry stack): RDS Postgres, the one artifact bucket every environment
reads, its KMS key, the server's IRSA role on it; and each environment stack's own payload bucket.

The registry bucket is `registry_bucket_name()` in every environment: a release pins the same
`s3://` URI from dev to prod. Environments read it cross-account: its bucket policy and its
customer-managed key's policy name each environment's model-reader and monitor roles (an
AWS-managed `aws/s3` key cannot be shared across accounts). What the payload sink writes is the
environment's own data and goes to `payload_bucket_name(<env>)` in the environment's account, never
to the locked bucket.

Registered artifacts are immutable after the gate by two means, chosen over a deny on "registered
prefixes" alone: MLflow lays artifacts out by experiment, run and model id, so no static policy
knows which prefixes a gate has passed, and S3 cannot refuse an overwrite unless the client sends
`If-None-Match` (MLflow does not; see `iam.artifact_access_policy`).
- Versioning with Object Lock in governance mode and a default retention: every version of every
  object is kept for `ARTIFACT_RETENTION_DAYS`, so an overwrite adds a version and never destroys
  the bytes a release pins, and nothing deletes a version before its retention ends.
- A bucket policy denying object deletion (delete markers too) and the governance bypass to every
  principal, and every request without TLS (`iam.artifact_bucket_policy`).
No identity is granted a delete: writers add, the MLflow server (`--no-serve-artifacts`) reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from modelops_infra import layout as L
from modelops_infra.backends.backend import DB_NAME, DB_USER, SERVICE_ACCOUNT, Backend, database_uri
from modelops_infra.manifests.iam import (
    artifact_access_policy,
    artifact_bucket_policy,
    registry_key_policy,
    web_identity_trust,
)
from modelops_infra.settings import RegistrySettings
from modelops_infra.versions import POSTGRES_ENGINE_VERSION

# Governance-mode retention of every artifact version. A year: longer than a version stays pinned
# between its gate and its successor's rollout, and the span an audit of a model decision looks
# back over. Its cost: nothing written to the bucket (payloads and ungated runs included) can be
# removed for a year without first lifting the bucket policy's deny on the bypass.
ARTIFACT_RETENTION_DAYS = 365
REGISTRY_BUCKET = "modelops-registry-mlflow-artifacts"
# The CrossGuard artifact rules hold every untagged bucket to Object Lock; payloads are not artifacts.
NOT_ARTIFACTS_TAG = {"modelops.io/model-artifacts": "false"}


def registry_bucket_name() -> str:
    """The one artifact bucket: what every release in gitops/ (but local's) pins."""
    return REGISTRY_BUCKET


def registry_artifact_uri(experiment_id: str, model_id: str) -> str:
    """Where MLflow 3 keeps a logged model's files in the registry bucket: what a release pins."""
    return f"s3://{registry_bucket_name()}/{experiment_id}/models/{model_id}/artifacts"


def payload_bucket_name(environment: str) -> str:
    """The environment's own bucket for the payload sink, in the environment's account."""
    return f"modelops-{environment}-payloads"


def aws_backend(
    parent: pulumi.Resource,
    name: str,
    *,
    environment: str,
    settings: RegistrySettings,
    vpc_id: pulumi.Input[str],
    data_subnet_ids: list[pulumi.Output[str]],
    cluster_security_group_id: pulumi.Input[str],
    oidc_provider: aws.iam.OpenIdConnectProvider,
    password: random.RandomPassword,
    account_id: str,
    readers: Sequence[str],
    monitors: Sequence[str] = (),
    region: str,
) -> Backend:
    """`account_id` is the registry's own account; `readers` and `monitors` the environments'
    model-reader and monitor role ARNs."""
    child = pulumi.ResourceOptions(parent=parent)
    subnets = aws.rds.SubnetGroup(f"{name}-db", subnet_ids=data_subnet_ids, opts=child)
    db_sg = aws.ec2.SecurityGroup(
        f"{name}-db",
        vpc_id=vpc_id,
        description="Postgres from the cluster's nodes and pods only",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp",
                from_port=L.POSTGRES_PORT,
                to_port=L.POSTGRES_PORT,
                security_groups=[cluster_security_group_id],
            )
        ],
        opts=child,
    )
    database = aws.rds.Instance(
        f"{name}-db",
        identifier=f"modelops-{environment}-mlflow",
        engine="postgres",
        engine_version=POSTGRES_ENGINE_VERSION,
        instance_class=settings.db_instance_class,
        allocated_storage=settings.db_storage_gb,
        db_name=DB_NAME,
        username=DB_USER,
        password=password.result,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[db_sg.id],
        publicly_accessible=False,
        storage_encrypted=True,
        multi_az=settings.multi_az,
        deletion_protection=settings.deletion_protection,
        backup_retention_period=7,
        # Protected databases keep a final snapshot; throwaway ones do not block `pulumi destroy`.
        skip_final_snapshot=not settings.deletion_protection,
        final_snapshot_identifier=f"modelops-{environment}-mlflow-final"
        if settings.deletion_protection
        else None,
        opts=child,
    )

    # Named, not generated: releases in gitops/ pin s3://modelops-registry-mlflow-artifacts/... paths.
    bucket_name = registry_bucket_name()
    key = aws.kms.Key(
        f"{name}-artifacts",
        description="modelops registry artifacts: decrypt for the environments' model readers",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=registry_key_policy(account_id=account_id, readers=readers, monitors=monitors, region=region),
        opts=child,
    )
    aws.kms.Alias(
        f"{name}-artifacts", name="alias/modelops-registry-artifacts", target_key_id=key.key_id, opts=child
    )
    bucket = aws.s3.Bucket(
        f"{name}-artifacts",
        bucket=bucket_name,
        force_destroy=not settings.deletion_protection,
        opts=child,
    )
    # Versioning, lock and policy take the literal name (the bucket's id on AWS, so no diff on
    # existing stacks) and an explicit dependency: the policy pack matches them to the bucket by
    # name, and an output would be unknown at the first preview of a new stack.
    versioning = aws.s3.BucketVersioning(
        f"{name}-artifacts",
        bucket=bucket_name,
        versioning_configuration={"status": "Enabled"},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[bucket]),
    )
    # Enables Object Lock on a new or an existing (versioned) bucket alike, as the provider documents
    # it; `Bucket(object_lock_enabled=True)` is CreateBucket's flag, a create-time setting.
    aws.s3.BucketObjectLockConfiguration(
        f"{name}-artifacts",
        bucket=bucket_name,
        object_lock_enabled="Enabled",
        rule={"default_retention": {"mode": "GOVERNANCE", "days": ARTIFACT_RETENTION_DAYS}},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-artifacts",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key.arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    public_access = _private(parent, f"{name}-artifacts", bucket)
    aws.s3.BucketPolicy(
        f"{name}-artifacts",
        bucket=bucket_name,
        policy=artifact_bucket_policy(bucket_name, readers=readers, monitors=monitors),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[bucket, public_access]),
    )

    role = irsa_role(
        f"{name}-irsa",
        oidc_provider=oidc_provider,
        namespace=L.MLFLOW_NAMESPACE,
        service_account=SERVICE_ACCOUNT,
        parent=parent,
    )
    aws.iam.RolePolicy(
        f"{name}-artifacts",
        role=role.id,
        # Read only: with --no-serve-artifacts clients upload straight to the bucket; the server
        # lists and reads for its UI and never writes or deletes.
        policy=pulumi.Output.all(bucket.arn, key.arn).apply(
            lambda arns: artifact_access_policy(arns[0], write=False, kms_key_arn=arns[1])
        ),
        opts=child,
    )
    return Backend(
        database_uri=database_uri(password.result, database.address),
        artifacts_destination=pulumi.Output.format("s3://{0}", bucket.bucket),
        service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
        bucket_arn=bucket.arn,
        kms_key_arn=key.arn,
    )


def payload_bucket(parent: pulumi.Resource, name: str, *, environment: str) -> aws.s3.Bucket:
    """The environment's payload bucket: private, encrypted, TLS only, no deletes; tagged as no
    artifact store (payloads are rewritten per window, so no Object Lock)."""
    bucket_name = payload_bucket_name(environment)
    bucket = aws.s3.Bucket(
        name, bucket=bucket_name, tags=NOT_ARTIFACTS_TAG, opts=pulumi.ResourceOptions(parent=parent)
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"},
                "bucket_key_enabled": True,
            }
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    public_access = _private(parent, name, bucket)
    aws.s3.BucketPolicy(
        name,
        bucket=bucket_name,
        policy=artifact_bucket_policy(bucket_name),  # TLS only, no principal deletes
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[bucket, public_access]),
    )
    return bucket


def _private(parent: pulumi.Resource, name: str, bucket: aws.s3.Bucket) -> aws.s3.BucketPublicAccessBlock:
    child = pulumi.ResourceOptions(parent=parent)
    public_access = aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
    )
    return public_access


def irsa_role(
    name: str,
    *,
    oidc_provider: aws.iam.OpenIdConnectProvider,
    namespace: str,
    service_account: str,
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """A role only the named Kubernetes service account can assume, through the cluster's OIDC."""
    trust = pulumi.Output.all(oidc_provider.arn, oidc_provider.url).apply(
        lambda values: web_identity_trust(
            values[0],
            values[1].removeprefix("https://"),
            f"system:serviceaccount:{namespace}:{service_account}",
            "sts.amazonaws.com",
        )
    )
    return aws.iam.Role(name, assume_role_policy=trust, opts=pulumi.ResourceOptions(parent=parent))
