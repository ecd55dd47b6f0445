"""The monitor job's CronJobs (`modelops monitor`, one per model) and the Pushgateway they push to.

Pure builders: plain manifests the Monitoring component turns into resources. The Pushgateway keeps
what it holds in a file on its volume, written every minute and on SIGTERM, so a restart in the middle
of an hour does not empty the drift panels; Prometheus scrapes it with honor_labels, so the series
keep the `model` and `release` the job gave them instead of the Pushgateway's own target labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelops_infra import layout as L

if TYPE_CHECKING:
    from pulumi import Output
from modelops_infra.manifests.network_policies import BackendPeers
from modelops_infra.manifests.workloads import (
    IMAGE_DIGEST_SKIP,
    checkov_skips,
    container_security_context,
    cron_job,
    pod_security_context,
    resources,
)

PUSHGATEWAY = "pushgateway"
PUSHGATEWAY_PORT = 9091
# Every path of the Pushgateway needs this basic-auth login (its web config holds the bcrypt hash):
# the NetworkPolicy admits the monitor and Prometheus, and the login keeps any other pod that gets
# through (or a mistaken policy) from pushing scores that fire or silence alerts.
PUSH_USERNAME = "modelops-monitor"
PUSH_LOGIN_SECRET = "pushgateway-login"  # keys username, password; in monitoring and jobs namespaces
WEB_CONFIG_SECRET = "pushgateway-web-config"  # key web-config.yml
WEB_CONFIG_DIR = "/etc/pushgateway"
PUSH_PASSWORD_DIR = "/var/run/pushgateway"
MONITOR_APP = "modelops-monitor"
# The monitor reads the hour that just ended, a few minutes after it ends (the sink's files close first).
SCHEDULE_MINUTE = 7
# Its identity: the ServiceAccount the API server and (on AWS) Pod Identity know it by, its MLflow login.
SERVICE_ACCOUNT = "model-monitor"
LOGIN_SECRET = "model-monitor-mlflow"
# environments/<env>.yaml and policies/models/<model>.yaml, as the repository lays them out: the image
# holds the package only, and `modelops monitor` reads the thresholds the gate reads.
POLICIES = "model-monitor-policies"
POLICIES_ROOT = "/etc/modelops"
# Where client libraries (and modelops.monitoring.kubernetes_api) look for a pod's token and CA.
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_EXPIRY_S = 3600
# What it reads in the models namespace: which releases run (InferenceServices), and the route that
# says whether a candidate is a canary or a shadow (HTTPRoutes). Nothing else, and no write verb.
READS = (("serving.kserve.io", "inferenceservices"), ("gateway.networking.k8s.io", "httproutes"))

Manifest = dict[str, Any]
# A local cluster serves its API on a node address the stack cannot know in advance, on 6443 for
# kind, k3d and Docker Desktop (minikube: 8443). On EKS the endpoints are in the cluster's subnets.
LOCAL_API_SERVER_PORT = 6443


def api_server_peers(cidrs: tuple[str, ...]) -> tuple[Manifest, ...]:
    return tuple({"ipBlock": {"cidr": cidr}} for cidr in cidrs)


def local_api_server_peers() -> tuple[tuple[Manifest, ...], tuple[int, ...]]:
    """Any address, on the API server's port only: a laptop compromise (see infra/README.md)."""
    return ({"ipBlock": {"cidr": "0.0.0.0/0"}},), (LOCAL_API_SERVER_PORT,)


@dataclass(frozen=True)
class MonitorNetwork:
    """Where the monitor's peers are: the API server, and the stack's object store (and credentials)."""

    api_server: tuple[Manifest, ...]
    api_server_ports: tuple[int, ...]
    backend: BackendPeers
    # False where MLflow is the shared registry's, reached at its public TLS address (AWS
    # environments): then the monitor leaves the VPC on 443, and no in-cluster MLflow admits it.
    # platform.py passes layout.ClusterRuns.mlflow.
    mlflow_in_cluster: bool


# Outside the VPC, any private network and link-local addresses (the node's metadata service and
# agents): where the registry's Gateway (its load balancer) answers.
PUBLIC_INTERNET = [
    {
        "ipBlock": {
            "cidr": "0.0.0.0/0",
            "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"],
        }
    }
]


@dataclass(frozen=True)
class MonitorJob:
    """What each environment's monitor CronJobs run, as whom, and where they may connect."""

    environment: str
    image: str  # the modelops package's image
    models: tuple[str, ...]
    payloads_uri: str  # where the payload sink writes (s3://bucket/prefix)
    mlflow_uri: str | Output[str]  # an Output: the registry stack's `mlflow_url`, placed as is
    models_namespace: str  # whose InferenceServices say which releases run
    network: MonitorNetwork
    # The S3 client's settings: AWS_REGION on AWS, MinIO's endpoint locally.
    store_env: tuple[tuple[str, str], ...] = ()
    store_secret: str | None = None  # locally, the Secret holding MinIO keys; on AWS Pod Identity's role
    # (path under POLICIES_ROOT, text): the environment's file and each model's policy.
    policy_files: tuple[tuple[str, str], ...] = ()
    every_hours: int = 1

    @property
    def schedule(self) -> str:
        return (
            f"{SCHEDULE_MINUTE} */{self.every_hours} * * *"
            if self.every_hours > 1
            else f"{SCHEDULE_MINUTE} * * * *"
        )

    @property
    def period_s(self) -> int:
        return self.every_hours * 3600


def pushgateway_url() -> str:
    return f"http://{PUSHGATEWAY}.{L.MONITORING_NAMESPACE}.svc:{PUSHGATEWAY_PORT}"


def pushgateway_manifests(image: str) -> dict[str, dict[str, Any]]:
    """{kind: manifest} of the Pushgateway: Deployment, Service, and the ServiceMonitor Prometheus scrapes."""
    labels = {"app": PUSHGATEWAY}
    meta = {"name": PUSHGATEWAY, "namespace": L.MONITORING_NAMESPACE, "labels": labels}
    container = {
        "name": PUSHGATEWAY,
        "image": image,
        "imagePullPolicy": "Always",
        "args": [
            "--persistence.file=/data/metrics",
            "--persistence.interval=1m",
            f"--web.config.file={WEB_CONFIG_DIR}/web-config.yml",
        ],
        "ports": [{"name": "http", "containerPort": PUSHGATEWAY_PORT}],
        # /-/ready and /-/healthy are behind the login too: the kubelet checks the port instead.
        "readinessProbe": {"tcpSocket": {"port": PUSHGATEWAY_PORT}},
        "livenessProbe": {"tcpSocket": {"port": PUSHGATEWAY_PORT}},
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "web-config", "mountPath": WEB_CONFIG_DIR, "readOnly": True},
        ],
        "securityContext": container_security_context(),
        "resources": resources("50m", "64Mi"),
    }
    deployment = {
        "metadata": {**meta, "annotations": checkov_skips(**IMAGE_DIGEST_SKIP)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    # The persistence file is flushed on SIGTERM: give it the time to.
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [
                        {"name": "data", "emptyDir": {"sizeLimit": "256Mi"}},
                        {"name": "web-config", "secret": {"secretName": WEB_CONFIG_SECRET}},
                    ],
                },
            },
        },
    }
    service = {
        "metadata": meta,
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": PUSHGATEWAY_PORT, "targetPort": "http"}],
        },
    }
    monitor = {
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": labels},
            # The job's own labels (model, release, column) win over the Pushgateway's target labels.
            "endpoints": [
                {
                    "port": "http",
                    "path": "/metrics",
                    "honorLabels": True,
                    "basicAuth": {
                        "username": {"name": PUSH_LOGIN_SECRET, "key": "username"},
                        "password": {"name": PUSH_LOGIN_SECRET, "key": "password"},
                    },
                }
            ],
        },
    }
    return {"Deployment": deployment, "Service": service, "ServiceMonitor": monitor}


def push_login_env() -> list[Manifest]:
    """What a job that pushes needs in its environment: the login's name and the password's file."""
    return [
        {"name": "MODELOPS_PUSHGATEWAY_USERNAME", "value": PUSH_USERNAME},
        {"name": "MODELOPS_PUSHGATEWAY_PASSWORD_FILE", "value": f"{PUSH_PASSWORD_DIR}/password"},
    ]


PUSH_LOGIN_MOUNT = {"name": "push-login", "mountPath": PUSH_PASSWORD_DIR, "readOnly": True}
PUSH_LOGIN_VOLUME = {
    "name": "push-login",
    "secret": {"secretName": PUSH_LOGIN_SECRET, "items": [{"key": "password", "path": "password"}]},
}


def web_config(bcrypt_hash: str) -> str:
    """The Pushgateway's web config: the one login, by its bcrypt hash."""
    return f"basic_auth_users:\n  {PUSH_USERNAME}: {bcrypt_hash}\n"


def _policy_key(path: str) -> str:
    return path.replace("/", "_")  # a ConfigMap key has no slash; the volume's items restore the path


def policies_configmap(job: MonitorJob) -> Manifest:
    """`metadata` and `data` of the ConfigMap the CronJobs mount as MODELOPS_ROOT."""
    return {
        "metadata": {"name": POLICIES, "namespace": L.JOBS_NAMESPACE, "labels": {"app": MONITOR_APP}},
        "data": {_policy_key(path): text for path, text in job.policy_files},
    }


def monitor_cronjob(model: str, *, job: MonitorJob) -> dict[str, Any]:
    """`metadata` and `spec` of the CronJob that runs `modelops monitor <model> --env <environment>`."""
    environment = job.environment
    name = f"monitor-{model}"
    labels = {"app": MONITOR_APP, "modelops.io/model": model}
    container: dict[str, Any] = {
        "name": "monitor",
        "image": job.image,
        "imagePullPolicy": "Always",
        "args": ["monitor", model, "--env", environment, "--window", f"{job.every_hours}h"],
        "env": [
            {"name": "MODELOPS_PAYLOADS", "value": job.payloads_uri},
            {"name": "MODELOPS_PUSHGATEWAY", "value": pushgateway_url()},
            *push_login_env(),
            # The releases the cluster runs, from the API server: the image holds no gitops/ checkout.
            {"name": "MODELOPS_MODELS_NAMESPACE", "value": job.models_namespace},
            {"name": "MODELOPS_ROOT", "value": POLICIES_ROOT},
            {"name": "MLFLOW_TRACKING_URI", "value": job.mlflow_uri},
            _login("MLFLOW_TRACKING_USERNAME", "username"),
            _login("MLFLOW_TRACKING_PASSWORD", "password"),
            {"name": "MLFLOW_DISABLE_TELEMETRY", "value": "true"},
            {"name": "HOME", "value": "/tmp"},  # the root filesystem is read-only
            *({"name": key, "value": value} for key, value in job.store_env),
        ],
        "volumeMounts": [
            {"name": "scratch", "mountPath": "/tmp"},
            {"name": "policies", "mountPath": POLICIES_ROOT, "readOnly": True},
            {"name": "api-token", "mountPath": TOKEN_DIR, "readOnly": True},
            PUSH_LOGIN_MOUNT,
        ],
        "securityContext": container_security_context(),
        "resources": resources("500m", "1536Mi"),
    }
    if job.store_secret is not None:
        container["envFrom"] = [{"secretRef": {"name": job.store_secret}}]
    # MLflow's client takes its login from the environment only (MLFLOW_TRACKING_PASSWORD).
    skips = {**IMAGE_DIGEST_SKIP, "CKV_K8S_35": "MLflow's client reads its basic-auth login from env only"}
    volumes = [
        {"name": "scratch", "emptyDir": {"sizeLimit": "2Gi"}},
        {
            "name": "policies",
            "configMap": {
                "name": POLICIES,
                "items": [{"key": _policy_key(path), "path": path} for path, _ in job.policy_files],
            },
        },
        PUSH_LOGIN_VOLUME,
        # The token the API server checks, projected for this pod alone and rotated by the kubelet
        # (automountServiceAccountToken stays off: only this container mounts it), with the cluster's CA.
        {
            "name": "api-token",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": TOKEN_EXPIRY_S}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                ]
            },
        },
    ]
    return cron_job(
        name,
        labels=labels,
        skips=skips,
        schedule=job.schedule,
        starting_deadline_s=600,
        backoff_limit=1,
        deadline_s=job.period_s - 300,
        pod_spec={"serviceAccountName": SERVICE_ACCOUNT, "containers": [container], "volumes": volumes},
    )


def _login(variable: str, key: str) -> Manifest:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": LOGIN_SECRET, "key": key}}}


def monitor_role(models_namespace: str) -> tuple[Manifest, Manifest]:
    """The Role (get and list the objects that say which releases run, in the models namespace only)
    and its RoleBinding to the monitor's ServiceAccount in the jobs namespace."""
    meta = {"name": SERVICE_ACCOUNT, "namespace": models_namespace, "labels": {"app": MONITOR_APP}}
    role = {
        "metadata": meta,
        "rules": [
            {"apiGroups": [group], "resources": [resource], "verbs": ["get", "list"]}
            for group, resource in READS
        ],
    }
    binding = {
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SERVICE_ACCOUNT},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": L.JOBS_NAMESPACE}],
    }
    return role, binding


def _pods(namespace: str, labels: dict[str, str]) -> Manifest:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "podSelector": {"matchLabels": labels},
    }


def _tcp(*ports: int) -> list[Manifest]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def pushgateway_network_policy() -> Manifest:
    """The Pushgateway takes pushes from the monitor's pods only (Prometheus, in its namespace, scrapes
    it under that namespace's own policy)."""
    return {
        "metadata": {"name": "pushgateway-from-monitor", "namespace": L.MONITORING_NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"app": PUSHGATEWAY}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [_pods(L.JOBS_NAMESPACE, {"app": MONITOR_APP})], "ports": _tcp(PUSHGATEWAY_PORT)}
            ],
        },
    }


def monitor_network_policies(job: MonitorJob) -> list[Manifest]:
    """The monitor's pods reach the API server, MLflow, the object store (and on AWS the Pod Identity
    agent for its credentials) and the Pushgateway; MLflow admits them whatever the namespace's own
    client list says. DNS comes with every namespace (network_policies.py)."""
    network = job.network
    mlflow = (
        {"to": [_pods(L.MLFLOW_NAMESPACE, {"app": L.MLFLOW_APP})], "ports": _tcp(L.MLFLOW_PORT)}
        if network.mlflow_in_cluster
        else {"to": PUBLIC_INTERNET, "ports": _tcp(L.HTTPS_PORT)}
    )
    egress = [
        {"to": list(network.api_server), "ports": _tcp(*network.api_server_ports)},
        mlflow,
        {"to": network.backend.object_store, "ports": _tcp(network.backend.object_store_port)},
        {"to": [_pods(L.MONITORING_NAMESPACE, {"app": PUSHGATEWAY})], "ports": _tcp(PUSHGATEWAY_PORT)},
    ]
    if network.backend.credential_agent:
        egress.append({"to": network.backend.credential_agent, "ports": _tcp(L.POD_IDENTITY_AGENT_PORT)})
    monitor_pods = {"matchLabels": {"app": MONITOR_APP}}
    own = {
        "metadata": {"name": "monitor-egress", "namespace": L.JOBS_NAMESPACE},
        "spec": {"podSelector": monitor_pods, "policyTypes": ["Egress"], "egress": egress},
    }
    if not network.mlflow_in_cluster:
        return [own]
    return [
        own,
        {
            "metadata": {"name": "mlflow-from-monitor", "namespace": L.MLFLOW_NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": L.MLFLOW_APP}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [_pods(L.JOBS_NAMESPACE, {"app": MONITOR_APP})], "ports": _tcp(L.MLFLOW_PORT)}
                ],
            },
        },
    ]
