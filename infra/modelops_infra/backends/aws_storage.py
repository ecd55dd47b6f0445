"""MLflow's store on AWS: RDS Postgres, a private versioned S3 bucket, the server's IRSA role on it."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from modelops_infra import layout as L
from modelops_infra.backends.backend import DB_NAME, DB_USER, SERVICE_ACCOUNT, Backend, database_uri
from modelops_infra.manifests.iam import web_identity_trust
from modelops_infra.settings import RegistrySettings
from modelops_infra.versions import POSTGRES_ENGINE_VERSION


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
    bucket = aws.s3.Bucket(
        f"{name}-artifacts",
        bucket=artifact_bucket_name(environment),
        force_destroy=not settings.deletion_protection,
        opts=child,
    )
    aws.s3.BucketVersioning(
        f"{name}-artifacts", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
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
    aws.s3.BucketPublicAccessBlock(
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
        policy=bucket.arn.apply(_bucket_access_policy),
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


def _bucket_access_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"{bucket_arn}/*",
                },
            ],
        }
    )


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
