"""What every registry backend hands the MLflow server: its database URI, artifact root and identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from modelops_infra import layout as L

DB_NAME = "mlflow"
DB_USER = "mlflow"
SERVICE_ACCOUNT = "mlflow"  # the MLflow server's, in namespace mlflow


@dataclass(frozen=True)
class Backend:
    database_uri: pulumi.Output[str]  # secret
    artifacts_destination: pulumi.Input[str]
    # The artifact bucket as access policies name it: what the Pod Identity and CI roles are
    # granted on AWS, what the MinIO users' policies name locally.
    bucket_arn: pulumi.Input[str]
    # The bucket's customer-managed KMS key (AWS: the registry's); None where the store has none.
    kms_key_arn: pulumi.Input[str] | None = None
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Extra environment for the server (local: the MinIO endpoint and its credentials).
    env: list[dict[str, Any]] = field(default_factory=list)


def database_uri(password: pulumi.Output[str], host: pulumi.Input[str]) -> pulumi.Output[str]:
    """The Postgres URI of MLflow's database on `host`, as a secret."""
    return pulumi.Output.secret(
        pulumi.Output.format(
            "postgresql://{0}:{1}@{2}:{3}/{4}", DB_USER, password, host, L.POSTGRES_PORT, DB_NAME
        )
    )
