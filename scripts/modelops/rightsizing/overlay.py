"""A release's resources in the overlay: read from the rendered InferenceService (what the cluster
applies, whichever file set it), written into the overlay's release.yaml, the file that already
patches the stable predictor (`modelops promote` rewrites its release fields and keeps the rest).

A resources change is operational (served.OPERATIONAL_FIELDS): the pull-request gate validates it
and gates no release for it.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from modelops.errors import InputError
from modelops.gitops.repository.overlay_files import dump, load
from modelops.gitops.rules.reading import get
from modelops.rightsizing import quantity
from modelops.rightsizing.recommend import texts
from modelops.rightsizing.usage import Resources

RESOURCES = ("spec", "predictor", "model", "resources")


def current_resources(document: dict[str, Any], *, where: str) -> Resources:
    """The model container's requests and limits as rendered; InputError naming the missing one."""
    resources = get(document, *RESOURCES)
    values = {}
    for section in ("requests", "limits"):
        for name in ("cpu", "memory"):
            value = get(resources, section, name)
            if value is None:
                raise InputError(f"{where}: rendered InferenceService sets no resources.{section}.{name}")
            values[f"{name}_{section.removesuffix('s')}"] = quantity.parse(
                value, where=f"{where}: resources.{section}.{name}"
            )
    return Resources(**values)


def replicas(document: dict[str, Any]) -> tuple[int, int]:
    """(minReplicas, maxReplicas) as rendered; KServe's defaults (1, and max = min) when unset."""
    predictor = get(document, "spec", "predictor") or {}
    low = int(predictor.get("minReplicas", 1) or 1)
    return low, max(low, int(predictor.get("maxReplicas", low) or low))


def _quantity(text: str) -> str:
    # "1" and "2" must stay strings: YAML would read a bare 1 as a number, which kustomize keeps as such.
    return DoubleQuotedScalarString(text) if text.isdigit() else text


def with_resources(text: str, path: str, resources: Resources, *, comment: str) -> str:
    """`text` (a release.yaml) patching the predictor's model resources to `resources`; every other
    line, comment and key order kept."""
    document = load(text, path)
    model = get(document, "spec", "predictor", "model")
    if not isinstance(model, CommentedMap):
        raise InputError(f"{path}: field 'spec.predictor.model' is missing")
    values = texts(resources)
    block = CommentedMap()
    for section in ("requests", "limits"):
        entry = CommentedMap([(name, _quantity(values[f"{section}.{name}"])) for name in ("cpu", "memory")])
        entry.fa.set_flow_style()
        block[section] = entry
    model["resources"] = block
    model.yaml_set_comment_before_after_key("resources", before=comment, indent=6)
    return dump(document)


def rendered_resources(document: dict[str, Any]) -> dict[str, str]:
    """The rendered values as written, by 'requests.cpu' and the like (str of what kustomize wrote)."""
    resources = get(document, *RESOURCES)
    return {
        f"{section}.{name}": str(get(resources, section, name))
        for section in ("requests", "limits")
        for name in ("cpu", "memory")
    }
