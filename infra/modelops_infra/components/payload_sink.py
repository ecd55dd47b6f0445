"""The payload sink: where the InferenceServices' loggers send their requests and responses.

It runs `python -m modelops.payloads.sink` (scripts/modelops/payloads/sink.py) from the modelops image
in the jobs namespace, and writes Hive-partitioned parquet under `payloads/` of the environment's own
payload bucket (`aws_storage.payload_bucket_name`, created here; locally MinIO's artifact bucket),
where the monitor job reads it. Never the registry's locked artifact bucket: payloads are the
environment's data, in its own account. Each InferenceService's `spec.predictor.logger.url`
is `http://payload-sink.modelops-jobs.svc.cluster.local:8080/payloads/<model>/<release>/<version>`.

Who may send: KServe's agent cannot present a token (kserve v0.16 pkg/logger/worker.go sets no
header), so the NetworkPolicy is the gate: only pods of the models namespace that carry the
`modelops.io/model` label (the InferenceServices' pods) reach it, and they may reach nothing else of
this namespace. The sink runs with `--allow-unauthenticated` for that reason, and only here.

What it may write: on AWS its own Pod Identity role may put objects under `payloads/` of its bucket
and nothing else. Locally it uses the MinIO `job-writer` keys
the jobs namespace already holds, which write the whole stand-in bucket: a laptop compromise.

Two replicas behind a Service with ClientIP affinity: a request and its response leave the same
model pod and must meet in the same sink process to be joined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from modelops.serving import contract
from modelops_infra import layout as L
from modelops_infra.backends.aws_storage import payload_bucket, payload_bucket_name
from modelops_infra.backends.local_access import ENDPOINT_HOST, JOB_SECRET
from modelops_infra.manifests.iam import pod_identity_trust
from modelops_infra.manifests.network_policies import BackendPeers
from modelops_infra.manifests.workloads import (
    IMAGE_DIGEST_SKIP,
    checkov_skips,
    container_security_context,
    pod_security_context,
    resources,
)

# Where the loggers send: the serving contract says it once, for the rules, the promotion and this.
SINK_APP = contract.SINK_SERVICE
SINK_NAMESPACE = contract.SINK_NAMESPACE
SINK_PORT = contract.SINK_PORT
SERVICE_ACCOUNT = "payload-sink"
PAYLOADS_PREFIX = "payloads"
# The sink drains for DRAIN_S after SIGTERM, then writes what it holds: well inside this.
TERMINATION_GRACE_S = 60


@dataclass(frozen=True)
class SinkOnAws:
    cluster_name: str  # known before the cluster exists: the trust policy pins it
    cluster: pulumi.Input[str]
    environment: str  # names the payload bucket the sink creates and writes (payload_bucket_name)
    region: str  # the S3 client's region: Pod Identity sets none, and the SDK would guess us-east-1
    agent: pulumi.Resource | None = None  # the eks-pod-identity-agent add-on


@dataclass(frozen=True)
class PayloadSinkArgs:
    models_namespace: str
    image: str  # versions.modelops_image
    backend: BackendPeers  # where the object store is, for the sink's egress
    aws: SinkOnAws | None  # None: the local stack's MinIO
    replicas: int = 2


def store_uri(args: PayloadSinkArgs) -> str:
    bucket = payload_bucket_name(args.aws.environment) if args.aws is not None else L.ARTIFACT_BUCKET_LOCAL
    return f"s3://{bucket}/{PAYLOADS_PREFIX}"


def sink_args(store: str) -> list[str]:
    return [
        "--store",
        store,
        "--host",
        "0.0.0.0",
        "--port",
        str(SINK_PORT),
        "--allow-unauthenticated",  # the NetworkPolicy admits the model pods alone (module docstring)
    ]


def payload_write_policy(bucket_arn: str) -> str:
    """Put objects under payloads/ and list that prefix: no read, no delete, nothing else in the bucket."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WritePayloads",
                    "Effect": "Allow",
                    "Action": ["s3:PutObject"],
                    "Resource": f"{bucket_arn}/{PAYLOADS_PREFIX}/*",
                },
                {
                    "Sid": "ListPayloads",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": bucket_arn,
                    "Condition": {"StringLike": {"s3:prefix": [f"{PAYLOADS_PREFIX}/*"]}},
                },
            ],
        }
    )


def network_policies(models_namespace: str, backend: BackendPeers, *, aws: bool) -> list[dict[str, Any]]:
    """Model pods to the sink, and the sink to its store: the only paths it has."""
    model_pods = {"matchExpressions": [{"key": L.MODEL_LABEL, "operator": "Exists"}]}
    sink_pods = {"matchLabels": {"app": SINK_APP}}
    port = [{"protocol": "TCP", "port": SINK_PORT}]
    models = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": models_namespace}},
        "podSelector": model_pods,
    }
    sink = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": SINK_NAMESPACE}},
        "podSelector": sink_pods,
    }
    egress = [{"to": backend.object_store, "ports": [{"protocol": "TCP", "port": backend.object_store_port}]}]
    if aws:
        egress.append(
            {
                "to": backend.credential_agent,
                "ports": [{"protocol": "TCP", "port": L.POD_IDENTITY_AGENT_PORT}],
            }
        )
    return [
        _policy(
            SINK_NAMESPACE,
            "payload-sink-from-models",
            sink_pods,
            ingress=[{"from": [models], "ports": port}],
        ),
        _policy(SINK_NAMESPACE, "payload-sink-to-store", sink_pods, egress=egress),
        _policy(
            models_namespace, "models-to-payload-sink", model_pods, egress=[{"to": [sink], "ports": port}]
        ),
    ]


def _policy(namespace: str, name: str, selector: dict[str, Any], **rules: Any) -> dict[str, Any]:
    types = [kind for kind, key in (("Ingress", "ingress"), ("Egress", "egress")) if key in rules]
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": selector, "policyTypes": types, **rules},
    }


class PayloadSink(pulumi.ComponentResource):
    store: str

    def __init__(self, name: str, args: PayloadSinkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:PayloadSink", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.store = store_uri(args)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": SERVICE_ACCOUNT, "namespace": SINK_NAMESPACE},
            automount_service_account_token=False,
            opts=child,
        )
        if args.aws is not None:
            self._role(name, args.aws)
        labels = {"app": SINK_APP}
        probe = {"httpGet": {"path": "/healthz", "port": SINK_PORT}, "periodSeconds": 5}
        container: dict[str, Any] = {
            "name": SINK_APP,
            "image": args.image,
            "imagePullPolicy": "Always",
            # The image's entrypoint is the `modelops` command (the monitor CronJobs run it); the
            # sink is its own module.
            "command": ["python", "-m", "modelops.payloads.sink"],
            "args": sink_args(self.store),
            "env": _store_env(args.aws),
            "ports": [{"name": "http", "containerPort": SINK_PORT}],
            "securityContext": container_security_context(),
            "resources": resources("500m", "1Gi"),
            "readinessProbe": probe,
            "livenessProbe": {**probe, "initialDelaySeconds": 15, "periodSeconds": 10},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        if args.aws is None:
            # MinIO's keys for the jobs namespace (backends/local_access.py).
            container["envFrom"] = [{"secretRef": {"name": JOB_SECRET}}]
        skips = {**IMAGE_DIGEST_SKIP}
        if args.aws is None:
            skips["CKV_K8S_35"] = "the local stack's MinIO keys reach the S3 client as environment only"
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={
                "name": SINK_APP,
                "namespace": SINK_NAMESPACE,
                "labels": labels,
                "annotations": checkov_skips(**skips),
            },
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": SERVICE_ACCOUNT,
                        "automountServiceAccountToken": False,
                        "terminationGracePeriodSeconds": TERMINATION_GRACE_S,
                        "securityContext": pod_security_context(),
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": SINK_APP, "namespace": SINK_NAMESPACE, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": labels,
                # A request and its response come from one pod: they must reach one sink to be joined.
                "sessionAffinity": "ClientIP",
                "ports": [{"name": "http", "port": SINK_PORT, "targetPort": SINK_PORT}],
            },
            opts=child,
        )
        for policy in network_policies(args.models_namespace, args.backend, aws=args.aws is not None):
            meta = policy["metadata"]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{meta['namespace']}-{meta['name']}", metadata=meta, spec=policy["spec"], opts=child
            )
        self.register_outputs({"store": self.store})

    def _role(self, name: str, aws_args: SinkOnAws) -> None:
        child = pulumi.ResourceOptions(parent=self)
        bucket = payload_bucket(self, f"{name}-bucket", environment=aws_args.environment)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pod_identity_trust(aws_args.cluster_name, SINK_NAMESPACE, [SERVICE_ACCOUNT]),
            max_session_duration=3600,
            opts=child,
        )
        policy = bucket.arn.apply(payload_write_policy)
        aws.iam.RolePolicy(f"{name}-role", role=role.id, policy=policy, opts=child)
        aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=aws_args.cluster,
            namespace=SINK_NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[aws_args.agent] if aws_args.agent is not None else []
            ),
        )


def _store_env(on_aws: SinkOnAws | None) -> list[dict[str, str]]:
    if on_aws is not None:
        return [{"name": "HOME", "value": "/tmp"}, {"name": "AWS_REGION", "value": on_aws.region}]
    return [
        {"name": "HOME", "value": "/tmp"},
        {"name": "AWS_ENDPOINT_URL_S3", "value": f"http://{ENDPOINT_HOST}"},
        {"name": "AWS_REGION", "value": "us-east-1"},
    ]
