"""MLflow's service users (the CI gate's reader, the retrain writer), made real at deploy time.

Basic-auth users live in MLflow's own database, so a Secret alone creates nothing: a Job in the
`mlflow` namespace calls MLflow's auth REST API as admin (`runtime/mlflow_users_apply.py`) once the server
is up, and again whenever a password or grant changes (the pod template carries their digest).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from modelops_infra import layout as L
from modelops_infra.manifests.workloads import run_once_job
from modelops_infra.runtime import MLFLOW_USERS_APPLY

ADMIN_USERNAME = "admin"
JOB_APP = L.MLFLOW_USERS_APP  # pod label the network policies allow to reach MLflow
_MOUNT = "/etc/mlflow-users"


@dataclass(frozen=True)
class Grant:
    resource_type: str  # MLflow auth resource type: experiment, registered_model, ...
    resource_id: str  # an id or name, or "*" for every resource of the type
    permission: str  # READ, USE, EDIT, MANAGE


@dataclass(frozen=True)
class ServiceUser:
    username: str
    grants: tuple[Grant, ...]


# The server's default_permission is READ; the grants are stated anyway so the intent survives a
# stricter default. The gate reads versions and the datasets stored with their runs (experiments);
# retrain logs runs and registers versions of existing models (EDIT, never MANAGE or DELETE).
CI_USERS = {
    "gate": ServiceUser(
        "ci-gate", (Grant("registered_model", "*", "READ"), Grant("experiment", "*", "READ"))
    ),
    "retrain": ServiceUser(
        "ci-retrain", (Grant("experiment", "*", "EDIT"), Grant("registered_model", "*", "EDIT"))
    ),
}


def users_document(users: list[tuple[ServiceUser, str]]) -> str:
    """What the Job reads: each user with its password and grants, in a stable order."""
    return json.dumps(
        [
            {
                "username": user.username,
                "password": password,
                "grants": [
                    {
                        "resource_type": g.resource_type,
                        "resource_id": g.resource_id,
                        "permission": g.permission,
                    }
                    for g in user.grants
                ],
            }
            for user, password in sorted(users, key=lambda pair: pair[0].username)
        ],
        sort_keys=True,
    )


def _revision(document: str, admin_password: str) -> str:
    # A digest, so the pod template (and so the Job) changes exactly when its inputs do.
    return hashlib.sha256(f"{document}\n{admin_password}".encode()).hexdigest()[:16]


def service_users_job(
    parent: pulumi.Resource,
    name: str,
    *,
    users: list[tuple[ServiceUser, pulumi.Output[str]]],
    admin_password: pulumi.Output[str],
    image: str,
    mlflow_url: str,
    after: list[pulumi.Resource],
) -> k8s.batch.v1.Job:
    child = pulumi.ResourceOptions(parent=parent)
    passwords = [password for _, password in users]
    document: pulumi.Output[str] = pulumi.Output.secret(
        pulumi.Output.all(*passwords).apply(
            lambda values: users_document([(user, values[i]) for i, (user, _) in enumerate(users)])
        )
    )
    secret = k8s.core.v1.Secret(
        f"{name}-users",
        metadata={"name": "mlflow-service-users", "namespace": L.MLFLOW_NAMESPACE},
        string_data={"admin-password": admin_password, "users.json": document},
        opts=child,
    )
    script = k8s.core.v1.ConfigMap(
        f"{name}-users-script",
        metadata={"name": "mlflow-users-script", "namespace": L.MLFLOW_NAMESPACE},
        data={"apply.py": MLFLOW_USERS_APPLY.read_text(encoding="utf-8")},
        opts=child,
    )
    revision = pulumi.Output.all(document, admin_password).apply(lambda v: _revision(v[0], v[1]))
    job = run_once_job(
        JOB_APP,
        L.MLFLOW_NAMESPACE,
        revision=revision,
        container={
            "name": "apply",
            "image": image,
            "command": ["python", "/opt/mlflow-users/apply.py"],
            "env": [
                {"name": "MLFLOW_URL", "value": mlflow_url},
                {"name": "MLFLOW_ADMIN_USERNAME", "value": ADMIN_USERNAME},
                {"name": "MLFLOW_ADMIN_PASSWORD_FILE", "value": f"{_MOUNT}/admin-password"},
                {"name": "MLFLOW_USERS_FILE", "value": f"{_MOUNT}/users.json"},
            ],
            "volumeMounts": [
                {"name": "script", "mountPath": "/opt/mlflow-users", "readOnly": True},
                {"name": "users", "mountPath": _MOUNT, "readOnly": True},
            ],
        },
        volumes=[
            {"name": "script", "configMap": {"name": "mlflow-users-script"}},
            {"name": "users", "secret": {"secretName": "mlflow-service-users"}},
        ],
        backoff_limit=4,
        deadline_s=900,
    )
    return k8s.batch.v1.Job(
        f"{name}-users",
        **job,
        # Fixed name and an immutable pod template: replace by deleting first.
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[secret, script, *after], delete_before_replace=True
        ),
    )
