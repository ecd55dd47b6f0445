"""Local stack only: the artifact bucket in MinIO, and MinIO users in place of Pod Identity.

A Job running `mc` as MinIO's root creates the bucket (what `gitops/` overlays for local pin) and
two users whose policies are the same IAM documents the AWS roles get: `model-reader` (list + get)
and `job-writer` (list + get + put). Their keys land as Secrets where the workloads run:

- `model-artifacts-s3` in the models namespace, annotated the way KServe's storage initializer
  reads S3 settings. KServe only uses it once the model's ServiceAccount lists it (`secrets:`), and
  that ServiceAccount belongs to gitops/; see infra/README.md for the one-line local overlay patch.
- `artifact-store` in each job namespace: AWS_* keys and MLFLOW_S3_ENDPOINT_URL for `envFrom`.
"""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from modelops_infra import layout as L
from modelops_infra.manifests.iam import artifact_access_policy
from modelops_infra.manifests.workloads import run_once_job
from modelops_infra.versions import MINIO_CLIENT_IMAGE

SETUP_APP = L.MINIO_SETUP_APP  # pod label the network policies let reach MinIO
READER, WRITER = "model-reader", "job-writer"
MODEL_SECRET = "model-artifacts-s3"
JOB_SECRET = "artifact-store"
ENDPOINT_HOST = f"{L.MINIO_APP}.{L.STORAGE_NAMESPACE}.svc.cluster.local:{L.MINIO_PORT}"
# MinIO reads the same IAM policy documents as S3, so it names its bucket the way S3 would.
BUCKET_ARN = f"arn:aws:s3:::{L.ARTIFACT_BUCKET_LOCAL}"

_SETUP = f"""set -eu
mc alias set local "http://{ENDPOINT_HOST}" "$(cat /run/minio-root/minio-user)" \\
  "$(cat /run/minio-root/minio-password)"
mc mb --ignore-existing "local/{L.ARTIFACT_BUCKET_LOCAL}"
for user in {READER} {WRITER}; do
  mc admin policy create local "artifacts-$user" "/run/minio-users/$user.json"
  mc admin user add local "$user" "$(cat "/run/minio-users/$user")"
  mc admin policy attach local "artifacts-$user" --user "$user" 2>/dev/null || true
  mc admin user info local "$user" | grep -q "artifacts-$user"
done
"""


def local_artifact_access(
    parent: pulumi.Resource,
    name: str,
    *,
    root_secret: str,
    models_namespace: str,
    writer_namespaces: list[str],
    after: list[pulumi.Resource],
) -> None:
    child = pulumi.ResourceOptions(parent=parent)
    keys = {
        user: random.RandomPassword(f"{name}-minio-{user}", length=32, special=False, opts=child).result
        for user in (READER, WRITER)
    }
    users = k8s.core.v1.Secret(
        f"{name}-minio-users",
        metadata={"name": "minio-users", "namespace": L.STORAGE_NAMESPACE},
        string_data={
            **keys,
            f"{READER}.json": artifact_access_policy(BUCKET_ARN, write=False),
            f"{WRITER}.json": artifact_access_policy(BUCKET_ARN, write=True),
        },
        opts=child,
    )
    # The keys' digest on the pod template: new keys re-run the Job (a Job's template is immutable).
    revision = pulumi.Output.all(*keys.values()).apply(
        lambda values: hashlib.sha256("\n".join(values).encode()).hexdigest()[:16]
    )
    job = run_once_job(
        SETUP_APP,
        L.STORAGE_NAMESPACE,
        revision=revision,
        container={
            "name": "mc",
            "image": MINIO_CLIENT_IMAGE,
            "command": ["/bin/sh", "-c", _SETUP],
            # mc keeps its alias file under $HOME.
            "env": [{"name": "HOME", "value": "/tmp"}],
            "volumeMounts": [
                {"name": "root", "mountPath": "/run/minio-root", "readOnly": True},
                {"name": "users", "mountPath": "/run/minio-users", "readOnly": True},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        },
        volumes=[
            {"name": "root", "secret": {"secretName": root_secret}},
            {"name": "users", "secret": {"secretName": "minio-users"}},
            {"name": "tmp", "emptyDir": {}},
        ],
        backoff_limit=6,  # MinIO may still be starting
        deadline_s=600,
    )
    setup = k8s.batch.v1.Job(
        f"{name}-minio-setup",
        **job,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[users, *after], delete_before_replace=True),
    )
    k8s.core.v1.Secret(
        f"{name}-{MODEL_SECRET}",
        metadata={
            "name": MODEL_SECRET,
            "namespace": models_namespace,
            "annotations": {
                "serving.kserve.io/s3-endpoint": ENDPOINT_HOST,
                "serving.kserve.io/s3-usehttps": "0",
                "serving.kserve.io/s3-region": "us-east-1",
            },
        },
        string_data={"AWS_ACCESS_KEY_ID": READER, "AWS_SECRET_ACCESS_KEY": keys[READER]},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[setup]),
    )
    for namespace in writer_namespaces:
        k8s.core.v1.Secret(
            f"{name}-{JOB_SECRET}-{namespace}",
            metadata={"name": JOB_SECRET, "namespace": namespace},
            string_data={
                "AWS_ACCESS_KEY_ID": WRITER,
                "AWS_SECRET_ACCESS_KEY": keys[WRITER],
                "MLFLOW_S3_ENDPOINT_URL": f"http://{ENDPOINT_HOST}",
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[setup]),
        )
