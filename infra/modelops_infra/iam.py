"""IAM trust policies: web-identity trust pinned by exact subject, never by pattern."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def service_trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def web_identity_trust(provider_arn: str, issuer_host: str, subject: str, audience: str) -> str:
    """`StringEquals` on both `sub` and `aud`: `StringLike` would let wildcards in."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{issuer_host}:sub": subject, f"{issuer_host}:aud": audience}
                    },
                }
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
