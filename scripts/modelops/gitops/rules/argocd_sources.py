"""What Argo CD reads besides kustomize: an environment folder holds its kustomization and nothing else.

Argo CD builds `gitops/environments/<env>` (the ApplicationSet's source path), and before it runs
kustomize it reads two things of that folder the gate's `kubectl kustomize` never does:
- `.argocd-source.yaml` and `.argocd-source-<application>.yaml`, merged into the Application's
  source: kustomize images, patches, components, namespace... whatever the file says is applied on
  top of what the gate rendered;
- the files that decide which tool builds the folder: a name ending in `Chart.yaml` makes it a Helm
  chart (the last such file in name order wins over `kustomization.yaml`), so Argo CD would deploy
  `templates/` instead of the kustomization.
So each environment folder may hold `kustomization.yaml` alone, and no `.argocd-source` file may sit
anywhere under gitops/ (a later change of the ApplicationSet's path would pick it up).
"""

from __future__ import annotations

import os
from pathlib import Path

from modelops.gitops.repository import layout
from modelops.gitops.rules.finding import Finding

ARGOCD_SOURCES = "MODELOPS_ARGOCD_SOURCES"
ENVIRONMENTS = layout.GITOPS / "environments"
OVERRIDE_PREFIX = ".argocd-source"


def argocd_only_inputs(root: Path) -> list[Finding]:
    """A finding for each file Argo CD would read in a folder it builds that kustomize does not."""
    findings = []
    environments = root / ENVIRONMENTS
    for folder in sorted(p for p in environments.iterdir() if p.is_dir()) if environments.is_dir() else []:
        for entry in sorted(folder.iterdir()):
            if entry.name != layout.KUSTOMIZATION or not entry.is_file():
                where = str(entry.relative_to(root))
                findings.append(
                    Finding(
                        where,
                        f"Argo CD builds {folder.relative_to(root)}: it holds {layout.KUSTOMIZATION} alone "
                        "(Argo CD reads other files there that kustomize does not: overrides, a Helm chart)",
                        rule=ARGOCD_SOURCES,
                    )
                )
    for current, folders, files in os.walk(root / layout.GITOPS, followlinks=False):
        folders.sort()
        for name in sorted(files):
            path = Path(current) / name
            if name.startswith(OVERRIDE_PREFIX) and path.parent.parent != environments:
                findings.append(
                    Finding(
                        str(path.relative_to(root)),
                        "an Argo CD source override: what is deployed is what gitops/ renders, unaltered",
                        rule=ARGOCD_SOURCES,
                    )
                )
    return findings
