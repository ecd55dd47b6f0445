"""Who in the cluster may touch the MLflow artifact bucket, through EKS Pod Identity.

Model pods read (KServe's storage initializer downloads the pinned `s3://` storageUri with the
predictor's service account); jobs that log to MLflow also write, because MLflow runs with
`--no-serve-artifacts` and clients upload straight to the bucket. Pod Identity rather than IRSA:
the association lives here, so nothing in gitops/ names an AWS account or role.

The reader role has a fixed name (`iam.model_reader_role_name`): the registry's bucket and key
policies, in another account, name it by ARN before this stack exists. It reads registered models
of the bucket it is given (the registry's, through a StackReference) and nothing else
(`iam.model_reader_policy`); writers keep `iam.artifact_access_policy`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from modelops_infra.manifests.iam import (
    artifact_access_policy,
    model_reader_policy,
    model_reader_role_name,
    pod_identity_trust,
)


@dataclass(frozen=True)
class Grantee:
    namespace: str
    service_accounts: list[str]


@dataclass(frozen=True)
class ArtifactAccessArgs:
    environment: str  # names the reader role: the registry's policies name it by ARN
    cluster_name: str  # known before the cluster exists: the trust policy pins it
    cluster: pulumi.Input[str]  # the cluster's name as an output, so associations wait for it
    bucket_arn: pulumi.Input[str]
    readers: Grantee | None  # model service accounts, read-only; None where no model is served
    writers: Grantee | None  # job service accounts, read and write; None when no client namespace logs
    kms_key_arn: pulumi.Input[str] | None = None  # the bucket's customer-managed key (the registry's)
    agent: pulumi.Resource | None = None  # the eks-pod-identity-agent add-on


class ArtifactAccess(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: ArtifactAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelops:platform:ArtifactAccess", name, None, opts)
        self.role_arns = {}
        grants = {"model-reader": (args.readers, False), "job-writer": (args.writers, True)}
        for kind, (grantee, write) in grants.items():
            if grantee is None or not grantee.service_accounts:
                continue  # nothing to grant (no models yet, or no job namespace logs to MLflow)
            self.role_arns[kind] = self._role(f"{name}-{kind}", args, grantee, write=write)
        self.register_outputs({"role_arns": self.role_arns})

    def _role(
        self, name: str, args: ArtifactAccessArgs, grantee: Grantee, *, write: bool
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            name,
            # The reader's name is fixed (other accounts' policies name it); a writer's is generated.
            name=None if write else model_reader_role_name(args.environment),
            assume_role_policy=pod_identity_trust(
                args.cluster_name, grantee.namespace, grantee.service_accounts
            ),
            max_session_duration=3600,
            opts=child,
        )
        policy = pulumi.Output.all(args.bucket_arn, args.kms_key_arn).apply(
            lambda values: (
                artifact_access_policy(values[0], write=True, kms_key_arn=values[1])
                if write
                else model_reader_policy(values[0], kms_key_arn=values[1])
            )
        )
        aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=child)
        after_agent = pulumi.ResourceOptions(
            parent=self, depends_on=[args.agent] if args.agent is not None else []
        )
        for account in grantee.service_accounts:
            aws.eks.PodIdentityAssociation(
                f"{name}-{account}",
                cluster_name=args.cluster,
                namespace=grantee.namespace,
                service_account=account,
                role_arn=role.arn,
                opts=after_agent,
            )
        return role.arn
