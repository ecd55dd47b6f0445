"""MLflow's store on AWS: RDS Postgres, a private versioned S3 bucket, the server's IRSA role on it.

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

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from modelops_infra import layout as L
from modelops_infra.backends.backend import DB_NAME, DB_USER, SERVICE_ACCOUNT, Backend, database_uri
from modelops_infra.manifests.iam import artifact_access_policy, artifact_bucket_policy, web_identity_trust
from modelops_infra.settings import RegistrySettings
from modelops_infra.versions import POSTGRES_ENGINE_VERSION

# Governance-mode retention of every artifact version. A year: longer than a version stays pinned
# between its gate and its successor's rollout, and the span an audit of a model decision looks
# back over. Its cost: nothing written to the bucket (payloads and ungated runs included) can be
# removed for a year without first lifting the bucket policy's deny on the bypass.
ARTIFACT_RETENTION_DAYS = 365


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
) -> Backend:
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

    # Named, not generated: releases in gitops/ pin s3://modelops-<env>-mlflow-artifacts/... paths.
    bucket_name = artifact_bucket_name(environment)
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
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"},
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-artifacts",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-artifacts", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
    )
    aws.s3.BucketPolicy(
        f"{name}-artifacts",
        bucket=bucket_name,
        policy=artifact_bucket_policy(bucket_name),
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
        policy=bucket.arn.apply(lambda arn: artifact_access_policy(arn, write=False)),
        opts=child,
    )
    return Backend(
        database_uri=database_uri(password.result, database.address),
        artifacts_destination=pulumi.Output.format("s3://{0}", bucket.bucket),
        service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
        bucket_arn=bucket.arn,
    )


def artifact_bucket_name(environment: str) -> str:
    return f"modelops-{environment}-mlflow-artifacts"


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
