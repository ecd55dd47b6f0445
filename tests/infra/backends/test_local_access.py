"""Locally, MinIO users with the artifact roles' policies stand in for EKS Pod Identity."""

from __future__ import annotations

from modelops_infra import layout as L
from modelops_infra.manifests.iam import artifact_access_policy
from modelops_infra.versions import MINIO_CLIENT_IMAGE

ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"


def test_the_local_stack_gives_minio_users_the_same_policies_instead_of_roles(stacks):
    local = stacks["local"]
    assert not local.of_type(ASSOCIATION)
    secrets = {
        (s.inputs["metadata"]["namespace"], s.inputs["metadata"]["name"]): s.inputs
        for s in local.of_type("kubernetes:core/v1:Secret")
    }
    bucket = f"arn:aws:s3:::{L.ARTIFACT_BUCKET_LOCAL}"
    users = secrets[(L.STORAGE_NAMESPACE, "minio-users")]["stringData"]
    assert users["model-reader.json"] == artifact_access_policy(bucket, write=False)
    assert users["job-writer.json"] == artifact_access_policy(bucket, write=True)
    model = secrets[("models-local", "model-artifacts-s3")]
    assert model["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "minio.object-storage.svc.cluster.local:9000",
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-region": "us-east-1",
    }
    assert model["stringData"]["AWS_ACCESS_KEY_ID"] == "model-reader"
    jobs = secrets[(L.JOBS_NAMESPACE, "artifact-store")]["stringData"]
    assert jobs["AWS_ACCESS_KEY_ID"] == "job-writer"
    assert jobs["MLFLOW_S3_ENDPOINT_URL"] == "http://minio.object-storage.svc.cluster.local:9000"
    (setup,) = [
        j for j in local.of_type("kubernetes:batch/v1:Job") if j.inputs["metadata"]["name"] == "minio-setup"
    ]
    (container,) = setup.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == MINIO_CLIENT_IMAGE
    assert f'mc mb --ignore-existing "local/{L.ARTIFACT_BUCKET_LOCAL}"' in container["command"][-1]
