"""How many `kubectl kustomize` calls render one environment, and what joining them must check.

One call per environment is the plain way, but kustomize 5.x is quadratic in the number of
objects one call accumulates: every object added is compared with every object already held
(kubernetes-sigs/kustomize#5084). At 300 models (1,200 objects) that is ~40 % of the call.
An environment folder whose kustomization only lists directories (the layout here: one line
per model overlay, nothing else) renders to the same objects when its list is cut into
groups, each rendered by one call: at that level kustomize only gathers the overlays' objects,
refuses duplicates and sorts. The duplicates check is the one thing a cut would lose, so
`duplicates` does it across the groups. Anything else in the kustomization (a namespace,
labels, patches, generators, files) could act across models, and keeps one call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Model overlays per call. Measured at 300 models (CPU seconds for one environment, kustomize
# 5.5): 1 call 9.1, groups of 150 7.2, 100 6.8, 75 6.7, 50 7.3, 25 8.7; below ~75 each call's
# start-up costs more than the quadratic part saves.
OVERLAYS_PER_CALL = 100

_LIST_ONLY = {"apiVersion", "kind", "resources"}
# The names kustomize reads a folder's kustomization from; a folder with two is an error.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Kinds without a namespace, among those a model or platform tree may hold: kustomize compares
# them by name alone, whatever namespace a file sets.
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "IngressClass", "GatewayClass", "ClusterIssuer",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
}  # fmt: skip


def groups(kustomization: Any, is_directory: Iterable[bool]) -> list[list[str]] | None:
    """The kustomization's resources cut into groups for one call each, or None for one call.

    `is_directory` says, for each entry of `resources` in order, whether it names a folder.
    """
    if not isinstance(kustomization, dict) or set(kustomization) - _LIST_ONLY:
        return None
    # Anything but a plain Kustomization (a Component, a typo) is for one call to accept or refuse.
    if (
        kustomization.get("apiVersion", "kustomize.config.k8s.io/v1beta1")
        != "kustomize.config.k8s.io/v1beta1"
    ):
        return None
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        return None
    resources = kustomization.get("resources")
    if not isinstance(resources, list) or len(resources) <= OVERLAYS_PER_CALL:
        return None
    if not all(isinstance(entry, str) for entry in resources) or not all(is_directory):
        return None  # a file must stay under the kustomization's own folder; keep it whole
    return [
        resources[start : start + OVERLAYS_PER_CALL] for start in range(0, len(resources), OVERLAYS_PER_CALL)
    ]


def object_id(document: dict[str, Any]) -> tuple[str, str, str, str]:
    """What kustomize treats as one object: group/version, kind, namespace, name."""
    metadata = document.get("metadata") or {}
    # kustomize counts a namespaced object without a namespace as being in "default".
    namespace = "" if document.get("kind") in CLUSTER_SCOPED else metadata.get("namespace") or "default"
    return str(document.get("apiVersion")), str(document.get("kind")), namespace, str(metadata.get("name"))


def duplicates(rendered_groups: Iterable[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """One line per object rendered by two groups, naming both: what one call would refuse."""
    first_seen: dict[tuple[str, str, str, str], str] = {}
    problems = []
    for group, documents in rendered_groups:
        for document in documents:
            key = object_id(document)
            if key in first_seen:
                _, kind, namespace, name = key
                twice = f"{first_seen[key]} and {group}"
                where = f" in namespace {namespace}" if namespace else ""
                problems.append(f"{kind}/{name}{where} is rendered twice ({twice})")
            else:
                first_seen[key] = group
    return problems
