"""`pulumi up -C infra -s <stack>`: load the stack's settings once, declare the platform, export.

Stacks: `registry` (the shared registry; Pulumi.registry.yaml names its settings file), and one per
environment (`environments/<env>.yaml`).
"""

from pathlib import Path

import pulumi

from modelops_infra import build
from modelops_infra.settings import Settings, load_stack_settings

REPO_ROOT = Path(__file__).resolve().parents[1]

config = pulumi.Config("modelops")
settings = load_stack_settings(
    config.get("environment") or pulumi.get_stack(), settings_file=config.get("settings"), root=REPO_ROOT
)
platform = build(
    settings,
    bootstrap_dir=REPO_ROOT / "gitops" / "bootstrap",
    models_dir=REPO_ROOT / "gitops" / "models",
)

pulumi.export("environment", settings.name)
if isinstance(settings, Settings):
    pulumi.export("models_namespace", settings.models_namespace)
for key, value in platform.outputs().items():
    pulumi.export(key, value)
