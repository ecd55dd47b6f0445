"""Who the monitor job is, everywhere it must prove it: one identity, each grant read-only.

- the Kubernetes API: the `model-monitor` ServiceAccount in the jobs namespace, bound to a Role in the
  models namespace that may get and list InferenceServices and HTTPRoutes, nothing else;
- MLflow (basic auth): its own service user, READ on registered models and experiments, created by the
  registry's users Job like CI's; the login reaches the CronJob as a Secret in the jobs namespace;
- the buckets, on AWS through Pod Identity: its own role, list and get only, on the environment's
  payload bucket (the sink's `payloads/`) and on the registry's artifact bucket, registered models
  and the runs' datasets only (`iam.model_monitor_policy`: MLflow runs with `--no-serve-artifacts`,
  so `fetch_version` and `load_run_dataset` download straight from the bucket, never through the
  server). The registry bucket is in another account: its bucket and key policies name this role
  by its fixed name (`iam.model_monitor_role_name`) and grant the same (see infra/README.md,
  "Topology"). Locally the MinIO keys the jobs namespace holds are used, as the sink does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from modelops_infra import layout as L
from modelops_infra.components.registry_users import Grant, ServiceUser
from modelops_infra.manifests.iam import (
    artifact_access_policy,
    model_monitor_policy,
    model_monitor_role_name,
    pod_identity_trust,
)
from modelops_infra.manifests.model_monitor import LOGIN_SECRET, MONITOR_APP, SERVICE_ACCOUNT, monitor_role

# Read only: what the gate's reader may, and no more. The server's default permission is READ too;
# stated so the intent survives a stricter default.
MONITOR_USER = ServiceUser(
    "modelops-monitor", (Grant("registered_model", "*", "READ"), Grant("experiment", "*", "READ"))
)


@dataclass(frozen=True)
class MonitorOnAws:
    environment: str  # names the role: the registry's bucket and key policies name it by ARN
    cluster_name: str  # known before the cluster exists: the trust policy pins it
    cluster: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]  # the registry's artifact bucket
    payload_bucket_arn: pulumi.Input[str]  # the environment's payload bucket (the sink's)
    agent: pulumi.Resource | None = None  # the eks-pod-identity-agent add-on
    kms_key_arn: pulumi.Input[str] | None = None  # only for a customer-managed bucket key


@dataclass(frozen=True)
class MonitorIdentityArgs:
    models_namespace: str
    mlflow_password: pulumi.Input[str]  # MONITOR_USER's, as the registry generated it
    aws: MonitorOnAws | None  # None: the local stack's MinIO keys


def login_document(password: str) -> dict[str, str]:
    return {"username": MONITOR_USER.username, "password": password}


class MonitorIdentity(pulumi.ComponentResource):
    role_arn: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: MonitorIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelops:platform:MonitorIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app": MONITOR_APP}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": SERVICE_ACCOUNT, "namespace": L.JOBS_NAMESPACE, "labels": labels},
            automount_service_account_token=False,  # the CronJob projects its own token
            opts=child,
        )
        role, binding = monitor_role(args.models_namespace)
        k8s_role = k8s.rbac.v1.Role(
            f"{name}-role", metadata=role["metadata"], rules=role["rules"], opts=child
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=binding["metadata"],
            role_ref=binding["roleRef"],
            subjects=binding["subjects"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, k8s_role]),
        )
        login: pulumi.Output[dict[str, str]] = pulumi.Output.secret(
            pulumi.Output.from_input(args.mlflow_password).apply(login_document)
        )
        k8s.core.v1.Secret(
            f"{name}-mlflow-login",
            metadata={"name": LOGIN_SECRET, "namespace": L.JOBS_NAMESPACE, "labels": labels},
            string_data=login,
            opts=child,
        )
        self.role_arn = self._aws_role(name, args.aws) if args.aws is not None else None
        self.register_outputs({"role_arn": self.role_arn})

    def _aws_role(self, name: str, on_aws: MonitorOnAws) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            name=model_monitor_role_name(on_aws.environment),
            assume_role_policy=pod_identity_trust(on_aws.cluster_name, L.JOBS_NAMESPACE, [SERVICE_ACCOUNT]),
            max_session_duration=3600,
            opts=child,
        )
        policy = pulumi.Output.all(on_aws.bucket_arn, on_aws.kms_key_arn).apply(
            lambda values: model_monitor_policy(values[0], kms_key_arn=values[1])
        )
        aws.iam.RolePolicy(f"{name}-role", role=role.id, policy=policy, opts=child)
        payloads = pulumi.Output.from_input(on_aws.payload_bucket_arn).apply(
            lambda arn: artifact_access_policy(arn, write=False)
        )
        aws.iam.RolePolicy(f"{name}-payloads", role=role.id, policy=payloads, opts=child)
        aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=on_aws.cluster,
            namespace=L.JOBS_NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[on_aws.agent] if on_aws.agent is not None else []
            ),
        )
        return role.arn
