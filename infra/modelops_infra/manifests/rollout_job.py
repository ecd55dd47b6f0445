"""The rollout CronJob: `modelops rollout advance --env <env>` in-cluster, for clusters whose Prometheus
GitHub's runners cannot reach. The same round as .github/workflows/rollout.yml, by the same script.

Each run clones the branch Argo CD follows into its scratch volume (the step's start is read from
git history), judges every canary from the in-cluster Prometheus, records the judgement in MLflow,
pushes the verdict to the Pushgateway, and opens the move's pull request with `gh`. The GitHub
token is the platform team's to create, out of band, as Secret `rollout-github` (key `token`) in the
jobs namespace: a GitHub App installation token or fine-grained token with contents and
pull-requests write on this repository only. Pure builders, as model_monitor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelops_infra import layout as L

if TYPE_CHECKING:
    from pulumi import Output
from modelops_infra.manifests.model_monitor import (
    LOGIN_SECRET,
    PUSH_LOGIN_MOUNT,
    PUSH_LOGIN_VOLUME,
    PUSHGATEWAY,
    PUSHGATEWAY_PORT,
    push_login_env,
    pushgateway_url,
)
from modelops_infra.manifests.workloads import (
    IMAGE_DIGEST_SKIP,
    container_security_context,
    cron_job,
    resources,
)

ROLLOUT_APP = "modelops-rollout"
GITHUB_SECRET = "rollout-github"
# kube-prometheus-stack (release `kube-prometheus-stack`) names its Prometheus Service so.
PROMETHEUS_SERVICE = "kube-prometheus-stack-prometheus"
PROMETHEUS_PORT = 9090
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}
CHECKOUT = "/tmp/repository"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class RolloutJob:
    """What each canary environment's rollout CronJob runs and where it may connect."""

    environment: str
    image: str  # the modelops package's image (it holds git and gh)
    repo_url: str  # the repository Argo CD reconciles (environments/<env>.yaml gitops.repo_url)
    branch: str  # the branch it follows
    mlflow_uri: str | Output[str]  # an Output: the registry stack's `mlflow_url`, placed as is
    # MLflow's pods are in this cluster (local), so they admit the round; otherwise (on AWS) the round
    # reaches the registry's Gateway through its HTTPS egress and no policy names an MLflow pod.
    mlflow_in_cluster: bool
    every_minutes: int = 15

    @property
    def schedule(self) -> str:
        return f"*/{self.every_minutes} * * * *"


def prometheus_url() -> str:
    return f"http://{PROMETHEUS_SERVICE}.{L.MONITORING_NAMESPACE}.svc:{PROMETHEUS_PORT}"


def _script() -> str:
    # Values reach the shell through env, never through this text.
    return (
        'set -euo pipefail; gh auth setup-git; git clone --quiet --branch "$BRANCH" "$REPO_URL" '
        f'{CHECKOUT}; cd {CHECKOUT}; exec bash .github/scripts/rollout-advance.sh "$ENVIRONMENT"'
    )


def rollout_cronjob(job: RolloutJob) -> Manifest:
    """`metadata` and `spec` of the CronJob that advances every canary of `job.environment`."""
    labels = {"app": ROLLOUT_APP}
    login = [
        {"name": variable, "valueFrom": {"secretKeyRef": {"name": LOGIN_SECRET, "key": key}}}
        for variable, key in (
            ("MLFLOW_TRACKING_USERNAME", "username"),
            ("MLFLOW_TRACKING_PASSWORD", "password"),
        )
    ]
    container = {
        "name": "advance",
        "image": job.image,
        "imagePullPolicy": "Always",
        "command": ["bash", "-c", _script()],
        "env": [
            {"name": "ENVIRONMENT", "value": job.environment},
            {"name": "REPO_URL", "value": job.repo_url},
            {"name": "BRANCH", "value": job.branch},
            {"name": "MODELOPS_ROOT", "value": CHECKOUT},
            {"name": "MODELOPS_PROMETHEUS_URL", "value": prometheus_url()},
            {"name": "MODELOPS_PUSHGATEWAY", "value": pushgateway_url()},
            *push_login_env(),
            {"name": "MLFLOW_TRACKING_URI", "value": job.mlflow_uri},
            *login,
            {"name": "MLFLOW_DISABLE_TELEMETRY", "value": "true"},
            {"name": "GH_TOKEN", "valueFrom": {"secretKeyRef": {"name": GITHUB_SECRET, "key": "token"}}},
            {"name": "GIT_AUTHOR_NAME", "value": "modelops-rollout"},
            {"name": "GIT_AUTHOR_EMAIL", "value": "modelops-rollout@users.noreply.github.com"},
            {"name": "GIT_COMMITTER_NAME", "value": "modelops-rollout"},
            {"name": "GIT_COMMITTER_EMAIL", "value": "modelops-rollout@users.noreply.github.com"},
            {"name": "HOME", "value": "/tmp"},  # the root filesystem is read-only
        ],
        "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}, PUSH_LOGIN_MOUNT],
        "securityContext": container_security_context(),
        "resources": resources("250m", "768Mi"),
    }
    skips = {
        **IMAGE_DIGEST_SKIP,
        "CKV_K8S_35": "MLflow's client and gh read their credentials from env only",
    }
    return cron_job(
        f"rollout-{job.environment}",
        labels=labels,
        skips=skips,
        schedule=job.schedule,
        starting_deadline_s=300,
        backoff_limit=0,  # a failed round is not retried: the next scheduled one judges afresh
        deadline_s=job.every_minutes * 60 - 60,
        # No serviceAccountName: the round never calls the API server (its token stays unmounted).
        pod_spec={
            "containers": [container],
            "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}, PUSH_LOGIN_VOLUME],
        },
    )


def _pods(namespace: str, labels: dict[str, str]) -> Manifest:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": labels},
    }


def _tcp(*ports: int) -> list[Manifest]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def rollout_network_policies(job: RolloutJob) -> list[Manifest]:
    """The rollout pods reach Prometheus, the Pushgateway, MLflow (in the cluster, where it runs there)
    and GitHub and the registry's Gateway (HTTPS), nothing else; Prometheus, the Pushgateway and an
    in-cluster MLflow admit them. DNS comes with every namespace (network_policies.py). Policies add
    up: the monitor's own stay as they are."""
    rollout_pods = _pods(L.JOBS_NAMESPACE, {"app": ROLLOUT_APP})
    mlflow = {"to": [_pods(L.MLFLOW_NAMESPACE, {"app": L.MLFLOW_APP})], "ports": _tcp(L.MLFLOW_PORT)}
    egress = [
        {"to": [_pods(L.MONITORING_NAMESPACE, PROMETHEUS_POD)], "ports": _tcp(PROMETHEUS_PORT)},
        {"to": [_pods(L.MONITORING_NAMESPACE, {"app": PUSHGATEWAY})], "ports": _tcp(PUSHGATEWAY_PORT)},
        *([mlflow] if job.mlflow_in_cluster else []),
        # GitHub's addresses change, and so may the registry Gateway's; HTTPS only.
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": _tcp(L.HTTPS_PORT)},
    ]
    own = [
        {
            "metadata": {"name": "rollout-egress", "namespace": L.JOBS_NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": ROLLOUT_APP}},
                "policyTypes": ["Egress"],
                "egress": egress,
            },
        },
        {
            "metadata": {"name": "prometheus-from-rollout", "namespace": L.MONITORING_NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": PROMETHEUS_POD},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [rollout_pods], "ports": _tcp(PROMETHEUS_PORT)}],
            },
        },
        {
            "metadata": {"name": "pushgateway-from-rollout", "namespace": L.MONITORING_NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": PUSHGATEWAY}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [rollout_pods], "ports": _tcp(PUSHGATEWAY_PORT)}],
            },
        },
    ]
    if not job.mlflow_in_cluster:
        return own
    return [
        *own,
        {
            "metadata": {"name": "mlflow-from-rollout", "namespace": L.MLFLOW_NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": L.MLFLOW_APP}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [rollout_pods], "ports": _tcp(L.MLFLOW_PORT)}],
            },
        },
    ]
