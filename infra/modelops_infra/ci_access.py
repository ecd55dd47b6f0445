"""GitHub Actions' OIDC provider and the roles workflows assume: pinned to this repository."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from modelops_infra.iam import web_identity_trust

GITHUB_ISSUER = "token.actions.githubusercontent.com"


@dataclass(frozen=True)
class CiAccessArgs:
    repository: str  # ORG/REPO
    environment: str  # the GitHub environment deploy jobs run in
    create_oidc_provider: bool


def subjects(repository: str, environment: str) -> dict[str, str]:
    """Exact `sub` claims: previews from pull requests, deploys from the protected environment."""
    return {
        "preview": f"repo:{repository}:pull_request",
        "deploy": f"repo:{repository}:environment:{environment}",
    }


class CiAccess(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: CiAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:CiAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        provider_arn: pulumi.Output[str]
        if args.create_oidc_provider:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=f"https://{GITHUB_ISSUER}",
                client_id_lists=["sts.amazonaws.com"],
                opts=child,
            )
            provider_arn = provider.arn
        else:
            provider_arn = aws.iam.get_open_id_connect_provider_output(url=f"https://{GITHUB_ISSUER}").arn
        # Previews read; deploys run `pulumi up`, which creates IAM roles, hence administrator
        # rights, guarded by the environment's required reviewers on GitHub.
        permissions = {"preview": "ReadOnlyAccess", "deploy": "AdministratorAccess"}
        self.role_arns = {}
        for kind, subject in subjects(args.repository, args.environment).items():
            role = aws.iam.Role(
                f"{name}-{kind}",
                assume_role_policy=provider_arn.apply(
                    lambda arn, subject=subject: web_identity_trust(
                        arn, GITHUB_ISSUER, subject, "sts.amazonaws.com"
                    )
                ),
                max_session_duration=3600,
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-{kind}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{permissions[kind]}",
                opts=child,
            )
            self.role_arns[kind] = role.arn
        self.register_outputs({"role_arns": self.role_arns})
