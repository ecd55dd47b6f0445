"""An overlay's files <-> its `OverlayState`, as pure functions over file texts.

Round-trip YAML (ruamel) keeps comments, key order and quoting, so a promotion's diff
is the release and nothing else. Inputs and outputs are texts keyed by repository path,
so the same code reads the working tree, any git revision, or builds a commit.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, MutableMapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from modelops.errors import InputError
from modelops.gitops.releases.transitions import OverlayState, Release, Traffic
from modelops.gitops.repository import layout
from modelops.rollouts import plan_schedule
from modelops.serving import contract
from modelops.serving.contract import CANDIDATE, STABLE

Texts = Mapping[str, str]


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def load(text: str, path: str) -> Any:
    try:
        return _yaml().load(text)
    except YAMLError as error:
        raise InputError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None


def dump(document: Any) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def _dig(document: Any, path: str, *keys: str) -> Any:
    node = document
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            raise InputError(f"{path}: field '{'.'.join(keys)}' is missing")
        node = node[key]
    return node


def release_of(document: Any, path: str) -> Release:
    """The release a release.yaml or candidate.yaml pins."""
    annotations = _dig(document, path, "metadata", "annotations")
    version = str(annotations.get(layout.VERSION_ANNOTATION, "")) if isinstance(annotations, Mapping) else ""
    digest = str(annotations.get(layout.DIGEST_ANNOTATION, "")) if isinstance(annotations, Mapping) else ""
    if not version or not digest:
        raise InputError(
            f"{path}: field 'metadata.annotations' needs {layout.VERSION_ANNOTATION} and "
            f"{layout.DIGEST_ANNOTATION}"
        )
    uri = str(_dig(document, path, "spec", "predictor", "model", "storageUri"))
    return Release(version=version, storage_uri=uri, digest=digest)


def traffic_of(document: Any, path: str, model: str) -> Traffic:
    """The split an HTTPRoute (a traffic.yaml, or a rendered route) makes between stable and candidate."""
    rules = _dig(document, path, "spec", "rules")
    if not isinstance(rules, list) or len(rules) != 1:
        raise InputError(f"{path}: field 'spec.rules' must hold exactly one rule")
    weights = {str(ref.get("name")): int(ref.get("weight", 1)) for ref in rules[0].get("backendRefs") or []}
    mirror = 0
    for item in rules[0].get("filters") or []:
        if item.get("type") == "RequestMirror":
            mirror = int(item.get("requestMirror", {}).get("percent", 100))
    return Traffic(
        stable=weights.get(layout.stable_service(model), 0),
        candidate=weights.get(layout.stable_service(layout.candidate_name(model)), 0),
        mirror=mirror,
    )


def read_state(texts: Texts, model: str, environment: str) -> OverlayState:
    def text(name: str) -> str | None:
        return texts.get(layout.overlay_file(model, environment, name))

    release_path = layout.overlay_file(model, environment, layout.RELEASE)
    release_text = text(layout.RELEASE)
    if release_text is None:
        raise InputError(f"{release_path}: not found; {model} has no overlay for {environment}")
    stable = release_of(load(release_text, release_path), release_path)
    candidate = None
    if (candidate_text := text(layout.CANDIDATE)) is not None:
        path = layout.overlay_file(model, environment, layout.CANDIDATE)
        candidate = release_of(load(candidate_text, path), path)
    traffic_path = layout.overlay_file(model, environment, layout.TRAFFIC)
    route = load(text(layout.TRAFFIC) or "", traffic_path)
    traffic = traffic_of(route, traffic_path, model)
    annotations = route.get("metadata", {}).get("annotations") if isinstance(route, Mapping) else None
    plan = plan_schedule.from_annotations(
        annotations if isinstance(annotations, Mapping) else {}, where=traffic_path
    )
    return OverlayState(stable=stable, candidate=candidate, traffic=traffic, plan=plan)


def _logger_url(model: str, role: str, release: Release) -> str:
    return contract.logger_url(model=model, release=role, version=release.version)


def _set_release(document: Any, release: Release, *, model: str, role: str) -> None:
    annotations = document["metadata"]["annotations"]
    annotations[layout.VERSION_ANNOTATION] = DoubleQuotedScalarString(release.version)
    annotations[layout.DIGEST_ANNOTATION] = release.digest
    predictor = document["spec"]["predictor"]
    predictor["model"]["storageUri"] = release.storage_uri
    # The base logs to a placeholder; the overlay names the version the payloads come from.
    predictor.setdefault("logger", {})["url"] = _logger_url(model, role, release)


def _candidate_text(model: str, environment: str, release: Release) -> str:
    return (
        f"# The candidate release of credit-risk's rollout in {environment}; removed when the rollout\n"
        "# completes or aborts. Written by `modelops promote`.\n".replace("credit-risk", model)
        + dump(
            {
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {
                    "name": layout.candidate_name(model),
                    "annotations": {
                        layout.VERSION_ANNOTATION: DoubleQuotedScalarString(release.version),
                        layout.DIGEST_ANNOTATION: release.digest,
                    },
                },
                "spec": {
                    "predictor": {
                        "logger": {"url": _logger_url(model, CANDIDATE, release)},
                        "model": {"storageUri": release.storage_uri},
                    }
                },
            }
        )
    )


def _set_traffic(document: Any, model: str, traffic: Traffic) -> None:
    rule = document["spec"]["rules"][0]
    stable = layout.stable_service(model)
    candidate = layout.stable_service(layout.candidate_name(model))
    refs = [ref for ref in rule["backendRefs"] if ref.get("name") == stable][:1]
    if not refs:
        raise InputError(f"traffic.yaml of {model}: no backendRef named {stable}")
    refs[0]["weight"] = traffic.stable
    if traffic.candidate:
        refs.append({"name": candidate, "port": refs[0].get("port", 80), "weight": traffic.candidate})
    rule["backendRefs"] = refs
    filters = [f for f in rule.get("filters") or [] if f.get("type") != "RequestMirror"]
    if traffic.mirror:
        filters.append(
            {
                "type": "RequestMirror",
                "requestMirror": {"backendRef": {"name": candidate, "port": 80}, "percent": traffic.mirror},
            }
        )
    if filters:
        rule["filters"] = filters
    elif "filters" in rule:
        del rule["filters"]


def _set_plan(document: Any, plan: plan_schedule.Schedule | None) -> None:
    """The rollout's plan as the route's annotations; none once no rollout runs."""
    metadata = document.setdefault("metadata", {})
    annotations = metadata.get("annotations")
    if not isinstance(annotations, MutableMapping):
        if plan is None:
            return
        annotations = metadata["annotations"] = {}
    if plan is not None:
        annotations.update(plan_schedule.as_annotations(plan))
        return
    for name in plan_schedule.ANNOTATIONS:
        annotations.pop(name, None)
    if not annotations:
        del metadata["annotations"]


def _set_candidate_in_kustomization(document: Any, present: bool) -> None:
    patches = document.setdefault("patches", [])
    paths = [p.get("path") for p in patches]
    if present and layout.CANDIDATE not in paths:
        patches.insert(
            paths.index(layout.TRAFFIC) if layout.TRAFFIC in paths else len(patches),
            {"path": layout.CANDIDATE},
        )
    if not present and layout.CANDIDATE in paths:
        del patches[paths.index(layout.CANDIDATE)]
    components = document.get("components") or []
    if present and layout.CANDIDATE_COMPONENT not in components:
        document["components"] = [*components, layout.CANDIDATE_COMPONENT]
    if not present and "components" in document:
        remaining = [c for c in components if c != layout.CANDIDATE_COMPONENT]
        if remaining:
            document["components"] = remaining
        else:
            del document["components"]


def write_state(texts: Texts, *, model: str, environment: str, state: OverlayState) -> dict[str, str | None]:
    """The overlay files that change to express `state` (None: delete the file)."""
    path = lambda name: layout.overlay_file(model, environment, name)  # noqa: E731
    changes: dict[str, str | None] = {}

    release = load(texts[path(layout.RELEASE)], path(layout.RELEASE))
    _set_release(release, state.stable, model=model, role=STABLE)
    changes[path(layout.RELEASE)] = dump(release)

    if state.candidate is not None:
        if path(layout.CANDIDATE) in texts:
            candidate = load(texts[path(layout.CANDIDATE)], path(layout.CANDIDATE))
            _set_release(candidate, state.candidate, model=model, role=CANDIDATE)
            changes[path(layout.CANDIDATE)] = dump(candidate)
        else:
            changes[path(layout.CANDIDATE)] = _candidate_text(model, environment, state.candidate)
    elif path(layout.CANDIDATE) in texts:
        changes[path(layout.CANDIDATE)] = None

    traffic = load(texts[path(layout.TRAFFIC)], path(layout.TRAFFIC))
    _set_traffic(traffic, model, state.traffic)
    _set_plan(traffic, state.plan)
    changes[path(layout.TRAFFIC)] = dump(traffic)

    kustomization = load(texts[path(layout.KUSTOMIZATION)], path(layout.KUSTOMIZATION))
    _set_candidate_in_kustomization(kustomization, state.candidate is not None)
    changes[path(layout.KUSTOMIZATION)] = dump(kustomization)
    return {name: text for name, text in changes.items() if texts.get(name) != text}
