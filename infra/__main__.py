"""`pulumi up -C infra -s <env>`: load the environment once, declare the platform, export."""

from pathlib import Path

import pulumi

from modelops_infra import build, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]

config = pulumi.Config("modelops")
settings = load_settings(config.get("environment") or pulumi.get_stack(), root=REPO_ROOT)
platform = build(
    settings,
    bootstrap_dir=REPO_ROOT / "gitops" / "bootstrap",
    models_dir=REPO_ROOT / "gitops" / "models",
)

pulumi.export("environment", settings.name)
pulumi.export("models_namespace", settings.models_namespace)
pulumi.export("mlflow_url", platform.registry.url)  # in-cluster only: the Service is ClusterIP
pulumi.export("gateway", f"{platform.serving.gateway_namespace}/{platform.serving.gateway_name}")
if platform.cluster is not None:
    pulumi.export("kubeconfig", platform.cluster.kubeconfig)
if platform.ci is not None:
    pulumi.export("ci_role_arns", platform.ci.role_arns)  # preview, deploy, gate, retrain
    pulumi.export("ci_mlflow_secret_arns", platform.ci.secret_arns)  # gate, retrain
if platform.artifacts is not None:
    pulumi.export("artifact_role_arns", platform.artifacts.role_arns)  # model-reader, job-writer
