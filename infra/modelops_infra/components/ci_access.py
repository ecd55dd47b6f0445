"""GitHub Actions' OIDC provider and the roles workflows assume: pinned to this repository.

`sub` is `repo:ORG/REPO:<context>:job_workflow_ref:ORG/REPO/.github/workflows/<file>@<ref>`: the
repository settings script (`python -m modelops.github.repository_settings`) makes GitHub put the
workflow file and its ref into `sub`, because AWS reads no other GitHub claim in a trust policy (a
condition on `job_workflow_ref` itself would never be met). Each role trusts (TRUSTED_JOBS):

- preview: `environment:infra-preview`, infra-preview.yml at `refs/pull/*/merge`; reads the stack's
  resource types and its state (`pulumi preview`). A `pull_request` run executes the pull request's own
  copy of the workflow file, so the file name and ref alone pin nothing its author cannot rewrite: the
  job must run in the `infra-preview` environment, whose required reviewers approve each run before
  GitHub issues it a token with that context (an unreviewed job's context is `pull_request`, which
  this role does not trust);
- deploy: `environment:<stack>`, infra.yml at main; changes the stack's resources only (`pulumi up`);
- gate: `pull_request`, promotion-gate.yml at main (it runs on `pull_request_target`: main's file);
  reads the artifact bucket and the gate's MLflow login;
- retrain: `environment:registry`, record.yml, retrain.yml and rollout.yml at main; reads and adds
  artifacts, reads the retrain MLflow login.

So a job from another workflow file, or the same file on another branch, gets nothing even inside
the environment (whose deployment branches are main only). The preview role's jobs run the pull
request's merge ref, whose number is the one wildcard a trust may hold (`StringLike`); everything
else is matched exactly. None of these files may be a reusable workflow (`workflow_call`): a called
workflow's `sub` names the called file, so any caller would receive it.

deploy's and preview's policies are built by `manifests/deploy_policy.py` from the parts the stack
creates (`CiAccessArgs.deploy_parts`); deploy carries no permissions boundary (it creates the bounded
roles) and may change neither its own role, nor preview's, nor any policy under `/modelops/`: a
change to them is applied by an administrator. Every other role carries the stack's boundary
(`boundary.py`).

The two MLflow logins are Secrets Manager secrets holding `{"username", "password"}`; the same
passwords are given to MLflow by the registry's `mlflow-users` Job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws

from modelops.github.repository_settings import PREVIEW_ENVIRONMENT
from modelops_infra.boundary import UNBOUNDED_TAG, UNBOUNDED_VALUE
from modelops_infra.manifests.deploy_actions import ENVIRONMENT_PARTS, Part
from modelops_infra.manifests.deploy_policy import (
    DEPLOY_POLICY_PATH,
    StateBackend,
    deploy_policy_count,
    deploy_policy_documents,
    deploy_policy_name,
    read_policy_document,
    read_policy_name,
)
from modelops_infra.manifests.iam import artifact_access_policy, web_identity_trust

GITHUB_ISSUER = "token.actions.githubusercontent.com"
# The GitHub environment of the jobs that write to the registry (retrain, record).
RETRAIN_ENVIRONMENT = "registry"
# The roles whose policies are the stack's own (manifests/deploy_policy.py), not an MLflow login's.
STACK_ROLES = ("preview", "deploy")
WRITERS = ("retrain",)
MAIN_REF = "refs/heads/main"
PULL_REQUEST_REF = "refs/pull/*/merge"  # a pull_request job's ref; the number is the wildcard


@dataclass(frozen=True)
class TrustedJobs:
    """Which jobs may assume a role: their OIDC context, workflow files and the ref they run."""

    context: str  # "pull_request" or "environment:<name>"
    workflows: tuple[str, ...]
    ref: str


def trusted_jobs(kind: str, environment: str) -> TrustedJobs:
    """The jobs each role trusts (the module docstring's table)."""
    return {
        # The pull request's own file: trusted once a reviewer let the run into the environment.
        "preview": TrustedJobs(
            f"environment:{PREVIEW_ENVIRONMENT}", ("infra-preview.yml",), PULL_REQUEST_REF
        ),
        # pull_request_target runs main's file (the pull request is only read): its ref is main.
        "gate": TrustedJobs("pull_request", ("promotion-gate.yml",), MAIN_REF),
        "deploy": TrustedJobs(f"environment:{environment}", ("infra.yml",), MAIN_REF),
        "retrain": TrustedJobs(
            f"environment:{RETRAIN_ENVIRONMENT}", ("record.yml", "retrain.yml", "rollout.yml"), MAIN_REF
        ),
    }[kind]


@dataclass(frozen=True)
class MlflowLogin:
    username: str
    password: pulumi.Input[str]


@dataclass(frozen=True)
class CiAccessArgs:
    repository: str  # ORG/REPO
    environment: str  # the GitHub environment deploy jobs run in
    create_oidc_provider: bool
    bucket_arn: pulumi.Input[str]  # the MLflow artifact bucket
    logins: dict[str, MlflowLogin]  # "gate" and "retrain"
    kms_key_arn: pulumi.Input[str] | None = None  # only for a customer-managed bucket key
    # Which roles this stack creates: gate and retrain only where the registry is (platform.py).
    kinds: tuple[str, ...] = ("preview", "deploy", "gate", "retrain")
    # What the stack creates: the deploy role may change that and nothing else (deploy_policy.Part).
    deploy_parts: tuple[Part, ...] = ENVIRONMENT_PARTS
    # Pulumi's state, when an S3 bucket: preview and deploy reach this stack's files in it.
    state_backend: StateBackend | None = None


def subjects(repository: str, kind: str, environment: str) -> tuple[str, ...]:
    """The `sub` claims a role trusts, one per workflow file (repository_settings.OIDC_SUBJECT_CLAIMS)."""
    jobs = trusted_jobs(kind, environment)
    return tuple(
        f"repo:{repository}:{jobs.context}:job_workflow_ref:{repository}/.github/workflows/{file}@{jobs.ref}"
        for file in jobs.workflows
    )


class CiAccess(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]
    secret_arns: dict[str, pulumi.Output[str]]

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
        self.role_arns = {}
        self.secret_arns = {}
        roles: dict[str, aws.iam.Role] = {}
        for kind in ("preview", "deploy", "gate", "retrain"):
            if kind not in args.kinds:
                continue
            roles[kind] = role = aws.iam.Role(
                f"{name}-{kind}",
                assume_role_policy=provider_arn.apply(
                    partial(
                        web_identity_trust,
                        issuer_host=GITHUB_ISSUER,
                        subject=subjects(args.repository, kind, args.environment),
                        audience="sts.amazonaws.com",
                    )
                ),
                max_session_duration=3600,
                # deploy creates the bounded roles, so it cannot carry the boundary (boundary.py).
                tags={UNBOUNDED_TAG: UNBOUNDED_VALUE} if kind == "deploy" else None,
                opts=child,
            )
            self.role_arns[kind] = role.arn
            if kind in STACK_ROLES:
                continue
            secret_arn = self._login_secret(f"{name}-{kind}", args.logins[kind])
            self.secret_arns[kind] = secret_arn
            policy = pulumi.Output.all(args.bucket_arn, args.kms_key_arn, secret_arn).apply(
                partial(_login_policy, write=kind in WRITERS)
            )
            aws.iam.RolePolicy(f"{name}-{kind}", role=role.id, policy=policy, opts=child)
        self._stack_policies(name, args, roles["preview"], roles["deploy"])
        self.register_outputs({"role_arns": self.role_arns, "secret_arns": self.secret_arns})

    def _stack_policies(
        self, name: str, args: CiAccessArgs, preview: aws.iam.Role, deploy: aws.iam.Role
    ) -> None:
        """preview reads what the stack declares; deploy also changes it (manifests/deploy_policy.py)."""
        child = pulumi.ResourceOptions(parent=self)
        environment, parts = args.environment, args.deploy_parts
        read = aws.iam.Policy(
            f"{name}-preview-policy",
            name=read_policy_name(environment),
            path=DEPLOY_POLICY_PATH,
            description=f"pulumi preview of modelops-{environment}: reads, nothing else",
            policy=read_policy_document(environment, parts, state=args.state_backend),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-preview", role=preview.name, policy_arn=read.arn, opts=child)
        protected = pulumi.Output.all(deploy.arn, preview.arn)
        for index in range(deploy_policy_count(environment, parts, state=args.state_backend)):
            policy = aws.iam.Policy(
                f"{name}-deploy-policy-{index}",
                name=deploy_policy_name(environment, index),
                path=DEPLOY_POLICY_PATH,
                description=f"pulumi up of modelops-{environment}, part {index}",
                policy=protected.apply(
                    partial(_deploy_policy, environment, parts, index=index, state=args.state_backend)
                ),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-deploy-{index}", role=deploy.name, policy_arn=policy.arn, opts=child
            )

    def _login_secret(self, name: str, login: MlflowLogin) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        # Named by Pulumi (with a suffix): a deleted secret's name stays reserved for its recovery
        # window, which would block a destroy-and-recreate. Workflows read the ARN from the outputs.
        secret = aws.secretsmanager.Secret(
            name,
            description=f"MLflow basic-auth login {login.username} for GitHub Actions",
            recovery_window_in_days=7,
            opts=child,
        )
        document: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.from_input(login.password).apply(
                lambda password: json.dumps({"username": login.username, "password": password})
            )
        )
        aws.secretsmanager.SecretVersion(name, secret_id=secret.id, secret_string=document, opts=child)
        return secret.arn


def _deploy_policy(
    environment: str, parts: tuple[Part, ...], arns: list[str], *, index: int, state: StateBackend | None
) -> str:
    # What `Output.all` resolves to: the deploy and preview roles' ARNs, which it may not touch.
    return deploy_policy_documents(environment, parts, protected_roles=arns, state=state)[index]


def _login_policy(arns: list[Any], *, write: bool) -> str:
    # What `Output.all` resolves to: the bucket's, the key's (None without one) and the login's ARN.
    bucket_arn, kms_key_arn, secret_arn = arns
    return artifact_access_policy(bucket_arn, write=write, kms_key_arn=kms_key_arn, secret_arns=(secret_arn,))
