"""Reading helpers shared by the modelops checks; this module registers no check.

checkov puts this folder on `sys.path` before it imports the checks, which is what lets them
`import _modelops_k8s` by its bare name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# checkov's YAML loader adds these to every mapping it parses.
_LINE_KEYS = frozenset({"__startline__", "__endline__"})


def get(node: Any, *path: str | int) -> Any:
    """The value at `path` (mapping keys or list indexes), or None wherever the path breaks."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return None
        elif not isinstance(node, dict):
            return None
        node = node[step] if isinstance(step, int) else node.get(step)
    return node


def items(node: Any) -> list[Any]:
    """`node` if it is a list, else nothing: a malformed field is treated as absent, never crashes."""
    return node if isinstance(node, list) else []


def api_group(conf: dict[str, Any]) -> str:
    api_version = conf.get("apiVersion")
    return api_version.rpartition("/")[0] if isinstance(api_version, str) else ""


def annotations(conf: dict[str, Any]) -> dict[str, Any]:
    """metadata.annotations as one mapping.

    checkov rewrites the annotations of every resource into a list of mappings while it collects
    `checkov.io/skip` annotations, before the checks run, so both shapes arrive here.
    """
    raw = get(conf, "metadata", "annotations")
    merged: dict[str, Any] = {}
    for part in raw if isinstance(raw, list) else [raw]:
        if isinstance(part, dict):
            merged.update((k, v) for k, v in part.items() if k not in _LINE_KEYS)
    return merged


def is_template(value: Any) -> bool:
    """An ApplicationSet go/fasttemplate placeholder: its value is only known once Argo CD renders it."""
    return isinstance(value, str) and "{{" in value


# KServe components that run a pod of their own; the predictor also carries the model container.
_KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")


def kserve_pods(conf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], list[tuple[str, Any]]]]:
    """(path, pod spec, [(path, container)]) for each component pod of an InferenceService."""
    for component in _KSERVE_COMPONENTS:
        pod = get(conf, "spec", component)
        if not isinstance(pod, dict):
            continue
        base = f"spec/{component}"
        containers: list[tuple[str, Any]] = []
        if component == "predictor" and "model" in pod:
            containers.append((f"{base}/model", pod["model"]))
        for field in ("containers", "initContainers"):
            containers.extend((f"{base}/{field}/[{i}]", c) for i, c in enumerate(items(pod.get(field))))
        yield base, pod, containers


def argo_application_spec(conf: dict[str, Any]) -> tuple[str, Any]:
    """(path, spec) of an Argo CD Application, or of the template every ApplicationSet app copies."""
    if conf.get("kind") == "ApplicationSet":
        return "spec/template/spec", get(conf, "spec", "template", "spec")
    return "spec", get(conf, "spec")
