"""Self-hosted CI runners in the cluster: GitHub's actions-runner-controller (ARC) in scale set mode.

What runs here is what needs the network: jobs that reach the registry or a private API endpoint.
Each stack's cluster registers one runner scale set, named after the stack (`modelops-<stack>`), and a
workflow job selects it by that name (`runs-on: modelops-dev`). Pure builders: the Helm values and
the Kubernetes objects, which components/runners.py declares.

Why the runners are safe to keep next to the registry:
- One job per pod. ARC scale set runners are ephemeral by construction: the controller registers
  each runner with a just-in-time configuration valid for one job and deletes the pod when the job
  ends. The chart has no switch that keeps a runner; PERSISTENT_RUNNER_KEYS lists the ones older
  ARC modes had, and the values never carry them.
- No container mode. `dind` needs a privileged Docker daemon; `kubernetes` needs a service account
  that may create pods. Jobs run in the runner container itself, which is unprivileged, drops every
  capability and runs as the image's non-root `runner` user under the `restricted` Pod Security
  standard. (A job's `container:` or `services:` therefore does not run here; none of ours uses them.)
- No Kubernetes API rights and no AWS identity. The runner's service account has no token mounted
  and no binding. Jobs reach AWS by exchanging GitHub's OIDC token for the CI roles, as on hosted
  runners; the pod has no Pod Identity association, and its network policy does not reach the
  instance metadata service or the Pod Identity agent (both plain HTTP on port 80).
- Registered at the organisation into a runner group of the same name. A label is not a security
  boundary: any workflow on any branch may ask for it. The runner group is: restricted to this
  repository and to the workflows that need it, at `refs/heads/main` (infra/README.md, "CI
  runners"), a pull request's workflow, or a branch's, never gets one of these runners.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelops_infra import layout as L
from modelops_infra.manifests.rollout_job import PROMETHEUS_POD, PROMETHEUS_PORT

Manifest = dict[str, Any]

CONTROLLER_NAMESPACE = "arc-systems"
RUNNER_NAMESPACE = "arc-runners"
CONTROLLER_RELEASE = "arc"
CONTROLLER_SERVICE_ACCOUNT = "arc-controller"
RUNNER_SERVICE_ACCOUNT = "arc-runner"
# Created by hand in RUNNER_NAMESPACE (never in Pulumi's state), with the GitHub App's credentials:
#   kubectl create secret generic arc-github-app --namespace arc-runners \
#     --from-literal=github_app_id=<app id> --from-literal=github_app_installation_id=<installation id> \
#     --from-file=github_app_private_key=<app>.private-key.pem
GITHUB_APP_SECRET = "arc-github-app"
GITHUB_APP_SECRET_KEYS = ("github_app_id", "github_app_installation_id", "github_app_private_key")
# The `runner` user and group of ghcr.io/actions/actions-runner, which infra/images/ci-runner keeps.
RUNNER_UID = 1001
# The controller's image is distroless, `nonroot`.
CONTROLLER_UID = 65532
RUNNER_RESOURCES: Manifest = {
    # A job installs the locked environment (uv) and runs the gate, a training or `pulumi up`.
    "requests": {"cpu": "1", "memory": "3Gi", "ephemeral-storage": "10Gi"},
    "limits": {"cpu": "2", "memory": "6Gi", "ephemeral-storage": "20Gi"},
}
CONTROLLER_RESOURCES: Manifest = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
# Keys of earlier ARC modes (summerwind's RunnerDeployment) that keep a runner across jobs, or turn on
# Docker-in-Docker; the scale set chart has none of them, and our values must not grow one.
PERSISTENT_RUNNER_KEYS = ("ephemeral", "dockerEnabled", "dockerdWithinRunnerContainer", "persistent")
DIND = "dind"


def scale_set_name(stack: str) -> str:
    """The runner scale set (and runner group, and `runs-on:` label) of a stack's cluster."""
    return f"modelops-{stack}"


def github_config_url(repository: str) -> str:
    """Runners register with the organisation owning `repository` (`ORG/REPO`): only there does a
    runner group restrict them to chosen repositories and workflows."""
    return f"https://github.com/{repository.split('/')[0]}"


def _restricted_container(uid: int) -> Manifest:
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _restricted_pod(uid: int) -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def controller_values() -> Manifest:
    """gha-runner-scale-set-controller: watches the runner namespace alone, restricted."""
    return {
        "replicaCount": 1,
        "serviceAccount": {"create": True, "name": CONTROLLER_SERVICE_ACCOUNT},
        # Namespace-scoped Roles instead of cluster-wide rights over every namespace's pods and secrets.
        "flags": {"watchSingleNamespace": RUNNER_NAMESPACE, "logLevel": "info", "logFormat": "json"},
        "podSecurityContext": _restricted_pod(CONTROLLER_UID),
        "securityContext": {**_restricted_container(CONTROLLER_UID), "readOnlyRootFilesystem": True},
        "resources": CONTROLLER_RESOURCES,
    }


def scale_set_values(
    *, stack: str, repository: str, min_runners: int, max_runners: int, image: str
) -> Manifest:
    """gha-runner-scale-set: one job per pod, no container mode, no API rights, restricted.

    `image` is the repository's own runner image (versions.ci_runner_image): GitHub's lacks the
    tools the jobs call."""
    name = scale_set_name(stack)
    listener_container = {"name": "listener", "securityContext": _restricted_container(CONTROLLER_UID)}
    return {
        "githubConfigUrl": github_config_url(repository),
        "githubConfigSecret": GITHUB_APP_SECRET,  # by name: the App's key never enters Pulumi's state
        "runnerGroup": name,
        "runnerScaleSetName": name,
        "minRunners": min_runners,
        "maxRunners": max_runners,
        # Explicit: with watchSingleNamespace the chart cannot look the controller up.
        "controllerServiceAccount": {"namespace": CONTROLLER_NAMESPACE, "name": CONTROLLER_SERVICE_ACCOUNT},
        # The listener pod runs in the controller's namespace, which enforces `restricted` too.
        "listenerTemplate": {
            "spec": {"securityContext": _restricted_pod(CONTROLLER_UID), "containers": [listener_container]}
        },
        "template": {
            "spec": {
                "serviceAccountName": RUNNER_SERVICE_ACCOUNT,
                "automountServiceAccountToken": False,
                "securityContext": _restricted_pod(RUNNER_UID),
                "containers": [
                    {
                        "name": "runner",
                        "image": image,
                        "command": ["/home/runner/run.sh"],
                        # Writable root: jobs install their tools under /home/runner; the pod is
                        # discarded after its one job.
                        "securityContext": _restricted_container(RUNNER_UID),
                        "resources": RUNNER_RESOURCES,
                    }
                ],
            }
        },
    }


def namespaces() -> list[Manifest]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/metadata.name": name,
                    "app.kubernetes.io/part-of": "modelops",
                    **{
                        f"pod-security.kubernetes.io/{mode}": "restricted"
                        for mode in ("enforce", "audit", "warn")
                    },
                },
            },
        }
        for name in (CONTROLLER_NAMESPACE, RUNNER_NAMESPACE)
    ]


def runner_service_account() -> Manifest:
    """The runners' identity in the cluster: no token mounted, bound to no Role."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": RUNNER_SERVICE_ACCOUNT, "namespace": RUNNER_NAMESPACE},
        "automountServiceAccountToken": False,
    }


def _dns() -> Manifest:
    kube_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return {"to": [kube_dns], "ports": [{"protocol": p, "port": L.DNS_PORT} for p in ("UDP", "TCP")]}


def _https() -> Manifest:
    # GitHub, the AWS APIs (through the VPC's interface endpoints where it has them), the EKS API and
    # the registry's Gateway answer on 443 at addresses a policy cannot name: port 443 only, anywhere.
    return {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": L.HTTPS_PORT}]}


def _policies(namespace: str, egress: list[Manifest]) -> list[Manifest]:
    """Deny everything, like every namespace the platform owns; then let every pod out to `egress`.
    No policy admits anything in: nothing may connect to a runner, a listener or the controller."""
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": types, **rules},
        }
        for name, types, rules in (
            ("default-deny", ["Ingress", "Egress"], {"ingress": [], "egress": []}),
            ("allow-egress", ["Egress"], {"egress": egress}),
        )
    ]


@dataclass(frozen=True)
class InClusterService:
    """A service inside the runners' cluster that jobs call: its pods and port."""

    name: str  # names the policy admitting the runners (`<name>-from-runners`)
    namespace: str
    pods: dict[str, str]
    port: int


# What jobs on these runners call inside the cluster: the registry's MLflow (gate, record, retrain, on
# the registry's cluster) and an environment's Prometheus (rollout, on the environment's cluster).
MLFLOW_SERVICE = InClusterService("mlflow", L.MLFLOW_NAMESPACE, {"app": L.MLFLOW_APP}, L.MLFLOW_PORT)
PROMETHEUS_SERVICE = InClusterService("prometheus", L.MONITORING_NAMESPACE, PROMETHEUS_POD, PROMETHEUS_PORT)
CLUSTER_SERVICES = (MLFLOW_SERVICE, PROMETHEUS_SERVICE)


def _runner_pods() -> Manifest:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": RUNNER_NAMESPACE}}}


def network_policies(in_cluster: tuple[InClusterService, ...]) -> list[Manifest]:
    """Runners: DNS, 443, and the in-cluster services named (the registry's MLflow, the cluster's
    Prometheus), each of which admits them on its port. The controller and listeners: DNS and 443."""
    services = [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": service.namespace}},
                    "podSelector": {"matchLabels": service.pods},
                }
            ],
            "ports": [{"protocol": "TCP", "port": service.port}],
        }
        for service in in_cluster
    ]
    admissions = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{service.name}-from-runners", "namespace": service.namespace},
            "spec": {
                "podSelector": {"matchLabels": service.pods},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_runner_pods()], "ports": [{"protocol": "TCP", "port": service.port}]}],
            },
        }
        for service in in_cluster
    ]
    return [
        *_policies(CONTROLLER_NAMESPACE, [_dns(), _https()]),
        *_policies(RUNNER_NAMESPACE, [_dns(), _https(), *services]),
        *admissions,
    ]
