"""Argo CD, bootstrapped with whatever AppProjects and ApplicationSets live in gitops/bootstrap/."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from modelops.errors import InputError
from modelops_infra import layout as L
from modelops_infra.components.helm import release
from modelops_infra.versions import ARGO_CD


@dataclass(frozen=True)
class GitOpsArgs:
    repo_url: str
    bootstrap_dir: Path
    environment: str  # the stack's environment: its cluster's Argo CD generates only that Application


def for_this_cluster(manifest: dict[str, Any], environment: str) -> dict[str, Any]:
    """An ApplicationSet listing every environment file, narrowed to this stack's environment file.

    Each environment is its own cluster with its own Argo CD; left as committed, every cluster
    would generate the Applications of all environments, whose namespaces it does not have.
    """
    if manifest.get("kind") != "ApplicationSet":
        return manifest
    narrowed = copy.deepcopy(manifest)
    for generator in narrowed.get("spec", {}).get("generators", []):
        files = (generator.get("git") or {}).get("files")
        if files:
            generator["git"]["files"] = [{"path": f"environments/{environment}.yaml"}]
    return narrowed


def bootstrap_manifests(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every object under `folder` (subfolders such as projects/ included), sorted by path.

    A missing or empty folder yields nothing: Argo CD is installed and waits for its first project.
    """
    if not folder.is_dir():
        return []
    found = []
    for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        if path.name == "kustomization.yaml":
            continue  # a kustomize index, not an object to apply
        try:
            with path.open(encoding="utf-8") as handle:
                documents = [doc for doc in YAML(typ="safe").load_all(handle) if doc]
        except YAMLError as error:
            raise InputError(f"{path}: not valid YAML: {getattr(error, 'problem', error)}") from None
        for document in documents:
            if not isinstance(document, dict) or not {"apiVersion", "kind", "metadata"} <= document.keys():
                raise InputError(f"{path}: not a Kubernetes object (needs apiVersion, kind, metadata)")
            found.append((path, document))
    return found


class GitOps(pulumi.ComponentResource):
    def __init__(self, name: str, args: GitOpsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:GitOps", name, None, opts)
        argocd = release(
            f"{name}-argo-cd",
            ARGO_CD,
            release_name="argo-cd",
            namespace=L.ARGOCD_NAMESPACE,
            values={
                "dex": {"enabled": False},
                # argocd-cmd-params-cm. By default a git files generator's `*` crosses `/`, so
                # environments/*.yaml would read files in any subfolder too; the committed generator
                # names each file (validate refuses a glob), and this makes a glob that slipped
                # through match one folder level only.
                "configs": {
                    "params": {"applicationsetcontroller.enable.new.git.file.globbing": "true"},
                    # The repository this platform is defined in, registered declaratively.
                    "repositories": {"modelops": {"url": args.repo_url, "type": "git", "name": "modelops"}},
                },
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        applied = []
        for path, committed in bootstrap_manifests(args.bootstrap_dir):
            manifest = for_this_cluster(committed, args.environment)
            meta = dict(manifest["metadata"])
            meta.setdefault("namespace", L.ARGOCD_NAMESPACE)
            extra = set(manifest) - {"apiVersion", "kind", "metadata", "spec", "status"}
            if extra:
                # CustomResource carries metadata and spec only; anything else would be dropped silently.
                raise InputError(
                    f"{path}: {manifest['kind']}/{meta['name']}: unsupported fields {sorted(extra)}"
                )
            k8s.apiextensions.CustomResource(
                f"{name}-{manifest['kind'].lower()}-{meta['name']}",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=meta,
                spec=manifest.get("spec"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[argocd]),
            )
            applied.append(f"{path.name}:{manifest['kind']}/{meta['name']}")
        self.register_outputs({"bootstrapped": applied})
