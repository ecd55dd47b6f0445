"""Model pods read and jobs write the artifact bucket through EKS Pod Identity, and nothing more.

Model pods read in each environment's stack (the registry's bucket, across accounts); jobs write in
the registry stack, the only one that holds a writer.

Locally, MinIO users with the same policies stand in for the roles (backends/test_local_access.py).
"""

from __future__ import annotations

import json
import shutil

import pytest

from modelops_infra import layout as L
from modelops_infra.gitops_models import model_accounts
from modelops_infra.settings import load_registry_settings
from tests.infra.conftest import AWS_STACKS
from tests.infra.harness import build_stack

ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
BUCKET = "arn:aws:s3:::modelops-registry-mlflow-artifacts"  # the mocks' ARN for the artifact bucket
KEY = "arn:aws:kms:eu-west-1:123456789012:registry-artifacts"  # and for its key


def _role(stack, name):
    (role,) = [r for r in stack.of_type("aws:iam/role:Role") if r.name == name]
    return role


def _policy(stack, name):
    (policy,) = [p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == name]
    return json.loads(policy.inputs["policy"])


def _pod_identity_trust(cluster, namespace, accounts):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": cluster,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": accounts,
                    }
                },
            }
        ],
    }


@pytest.mark.parametrize("name", AWS_STACKS)
def test_each_model_service_account_in_gitops_gets_one_association_to_the_reader_role(
    stacks, repo_root, name
):
    accounts = sorted(a.service_account for a in model_accounts(repo_root / "gitops" / "models", name))
    assert accounts, "the fixture tree serves at least one model everywhere"
    associations = [
        a.inputs for a in stacks[name].of_type(ASSOCIATION) if a.inputs["namespace"] != L.JOBS_NAMESPACE
    ]
    assert sorted(a["serviceAccount"] for a in associations) == accounts
    for association in associations:
        assert association["namespace"] == f"models-{name}"
        assert association["clusterName"] == f"modelops-{name}"
        assert association["roleArn"].endswith(":artifacts-model-reader")


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_reader_role_trusts_pod_identity_for_exactly_those_accounts_and_only_reads(
    stacks, repo_root, name
):
    accounts = sorted(a.service_account for a in model_accounts(repo_root / "gitops" / "models", name))
    stack = stacks[name]
    trust = json.loads(_role(stack, "artifacts-model-reader").inputs["assumeRolePolicy"])
    assert trust == _pod_identity_trust(f"modelops-{name}", f"models-{name}", accounts)
    # Named, so the registry's bucket and key policies can name it; reads registered models only.
    assert _role(stack, "artifacts-model-reader").inputs["name"] == f"modelops-{name}-model-reader"
    assert _policy(stack, "artifacts-model-reader")["Statement"] == [
        {
            "Sid": "ListRegisteredModels",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": BUCKET,
            "Condition": {
                "StringLike": {"s3:prefix": ["*/models/m-*/artifacts", "*/models/m-*/artifacts/*"]}
            },
        },
        {
            "Sid": "ReadRegisteredModels",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{BUCKET}/*/models/m-*/artifacts/*",
        },
        {
            "Sid": "DecryptThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": KEY,
            "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
        },
    ]


@pytest.mark.parametrize("name", ["registry"])
def test_jobs_in_modelops_jobs_write_through_their_own_account_and_never_delete(every_stack, repo_root, name):
    stack, registry = every_stack[name], load_registry_settings(root=repo_root).settings.registry
    assert L.JOBS_NAMESPACE in registry.client_namespaces
    # The payload sink's account has a role of its own, on payloads/ only (test_payload_sink.py), and
    # the monitor's a read-only one (test_monitor_identity.py).
    (association,) = [
        a.inputs
        for a in stack.of_type(ASSOCIATION)
        if a.inputs["namespace"] == L.JOBS_NAMESPACE
        and a.inputs["serviceAccount"] not in ("payload-sink", "model-monitor")
    ]
    assert association["serviceAccount"] == registry.job_service_account
    assert association["roleArn"].endswith(":artifacts-job-writer")
    trust = json.loads(_role(stack, "artifacts-job-writer").inputs["assumeRolePolicy"])
    assert trust == _pod_identity_trust(f"modelops-{name}", L.JOBS_NAMESPACE, [registry.job_service_account])
    assert _policy(stack, "artifacts-job-writer")["Statement"] == [
        {"Sid": "ListArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": BUCKET},
        {
            "Sid": "WriteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{BUCKET}/*",
        },
        {
            "Sid": "UseArtifactKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": KEY,
        },
    ]
    (account,) = [
        a.inputs
        for a in stack.of_type("kubernetes:core/v1:ServiceAccount")
        if a.inputs["metadata"]["namespace"] == L.JOBS_NAMESPACE
        and a.inputs["metadata"]["name"] not in ("payload-sink", "model-monitor")
    ]
    assert account["metadata"]["name"] == registry.job_service_account
    assert account["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_cluster_runs_the_pod_identity_agent_and_pods_may_reach_it(stacks, name):
    addons = stacks[name].of_type("aws:eks/addon:Addon")
    assert sorted(a.inputs["addonName"] for a in addons) == ["eks-pod-identity-agent", "vpc-cni"]
    (addon,) = [a for a in addons if a.inputs["addonName"] == "eks-pod-identity-agent"]
    assert addon.inputs == {"addonName": "eks-pod-identity-agent", "clusterName": f"modelops-{name}"}
    agent = {
        p.inputs["metadata"]["namespace"]: p.inputs["spec"]
        for p in stacks[name].of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["name"] == "allow-pod-identity-agent"
    }
    assert set(agent) == {f"models-{name}", L.JOBS_NAMESPACE}
    for spec in agent.values():
        assert spec["egress"] == [
            {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
        ]


def test_adding_a_model_to_gitops_grants_it_on_the_next_up(repo_root, tmp_path):
    # A served model has a policy (its monitor reads it): the repository's files, and one for fraud.
    root = tmp_path / "repo"
    for folder in ("environments", "policies"):
        shutil.copytree(repo_root / folder, root / folder)
    policy = (root / "policies" / "models" / "credit-risk.yaml").read_text()
    (root / "policies" / "models" / "fraud.yaml").write_text(
        policy.replace("name: credit-risk", "name: fraud")
    )
    models = tmp_path / "models"
    shutil.copytree(repo_root / "gitops" / "models", models)
    (models / "fraud" / "base").mkdir(parents=True)
    (models / "fraud" / "overlays" / "dev").mkdir(parents=True)
    (models / "fraud" / "base" / "serviceaccount.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: fraud-predictor\n"
    )
    stack = build_stack("dev", root=root, bootstrap_dir=repo_root / "gitops" / "bootstrap", models_dir=models)
    granted = {a.inputs["serviceAccount"] for a in stack.of_type(ASSOCIATION)}
    assert granted == {"credit-risk", "fraud-predictor", "payload-sink", "model-monitor"}
    trust = json.loads(_role(stack, "artifacts-model-reader").inputs["assumeRolePolicy"])
    tags = trust["Statement"][0]["Condition"]["StringEquals"]
    assert tags["aws:RequestTag/kubernetes-service-account"] == ["credit-risk", "fraud-predictor"]


def test_without_models_no_reader_role_is_made(repo_root, tmp_path):
    stack = build_stack(
        "dev", root=repo_root, bootstrap_dir=repo_root / "gitops" / "bootstrap", models_dir=tmp_path / "none"
    )
    assert not [r for r in stack.of_type("aws:iam/role:Role") if r.name == "artifacts-model-reader"]
    assert {a.inputs["serviceAccount"] for a in stack.of_type(ASSOCIATION)} == {"payload-sink"}


DELETES = {
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
}


def _actions(policy):
    return {a for s in json.loads(policy.inputs["policy"])["Statement"] for a in _as_list(s.get("Action"))}


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", ["registry", *AWS_STACKS])
def test_no_identity_may_delete_an_artifact_and_only_writers_may_add(every_stack, name):
    policies = {p.name: p for p in every_stack[name].of_type("aws:iam/rolePolicy:RolePolicy")}
    assert policies, "the stack grants roles on the bucket"
    for policy in policies.values():
        actions = _actions(policy)
        assert not actions & DELETES, policy.name
        assert not any("*" in a for a in actions), policy.name
        statements = json.loads(policy.inputs["policy"])["Statement"]
        assert all(s["Effect"] == "Allow" and "NotAction" not in s for s in statements)
    writers = {n for n, p in policies.items() if "s3:PutObject" in _actions(p)}
    # The registry's: the jobs that log to MLflow and CI's retrain. An environment's: its payload
    # sink (its own bucket, under payloads/ only).
    expected = {"artifacts-job-writer", "ci-retrain"} if name == "registry" else {"payloads-role"}
    assert writers == expected
