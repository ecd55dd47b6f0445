"""The Argo CD objects agree with environments/*.yaml: same repository, same destinations."""

from __future__ import annotations

from typing import Any

from modelops.config import Environment
from modelops.gitops.rules.manifests import Finding

BOOTSTRAP = "gitops/bootstrap"


def check_bootstrap(documents: list[dict[str, Any]], environments: list[Environment]) -> list[Finding]:
    findings: list[Finding] = []
    projects = {d["metadata"]["name"]: d for d in documents if d.get("kind") == "AppProject"}
    for environment in environments:
        name = f"models-{environment.name}"
        where = f"{BOOTSTRAP}/projects/{name}.yaml"
        project = projects.get(name)
        if project is None:
            findings.append(Finding(BOOTSTRAP, f"no AppProject {name} for environment {environment.name}"))
            continue
        spec = project.get("spec") or {}
        if spec.get("sourceRepos") != [environment.gitops.repo_url]:
            findings.append(Finding(where, f"sourceRepos must be exactly [{environment.gitops.repo_url}]"))
        expected = [
            {
                "server": environment.gitops.destination.server,
                "namespace": environment.gitops.destination.namespace,
            }
        ]
        if spec.get("destinations") != expected:
            findings.append(Finding(where, f"destinations must be exactly {expected}"))
        if spec.get("clusterResourceWhitelist"):
            findings.append(Finding(where, "model projects may not manage cluster-scoped resources"))
    for document in documents:
        if document.get("kind") != "ApplicationSet":
            continue
        where = f"{BOOTSTRAP} (ApplicationSet/{document['metadata']['name']})"
        repos = {g.get("git", {}).get("repoURL") for g in document["spec"].get("generators", [])}
        revisions = {g.get("git", {}).get("revision") for g in document["spec"].get("generators", [])}
        for environment in environments:
            if environment.gitops.repo_url not in repos:
                findings.append(
                    Finding(where, f"generator reads {sorted(repos)}, not {environment.gitops.repo_url}")
                )
            # The branch the environments are read from is the one the promotion gate guards: an
            # environment that syncs another revision would serve what no gate judged.
            if environment.gitops.target_revision not in revisions:
                findings.append(
                    Finding(
                        f"environments/{environment.name}.yaml",
                        f"gitops.target_revision is {environment.gitops.target_revision}, but the "
                        f"ApplicationSet reads environments from {', '.join(sorted(map(str, revisions)))}: "
                        "a cluster must sync the branch the gate guards",
                    )
                )
        template = document["spec"].get("template", {}).get("spec", {})
        if template.get("project") in (None, "", "default"):
            findings.append(Finding(where, "applications must not use the default project"))
        automated = (template.get("syncPolicy") or {}).get("automated") or {}
        if not (automated.get("prune") and automated.get("selfHeal")):
            findings.append(Finding(where, "automated sync needs prune and selfHeal"))
    return findings
