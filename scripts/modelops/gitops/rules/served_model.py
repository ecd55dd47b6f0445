"""Rules for what a release answers to and where its payloads go: the platform's runtime, the model's
own name on the route's path (or the candidate's share of traffic gets 404s), and a payload logger
that names the model, release and version the gate judged (or the monitor job sees nothing, or
attributes rows to the wrong version)."""

from __future__ import annotations

from typing import Any

from modelops.gitops.repository import layout
from modelops.gitops.rules.reading import get, items, mapping, model_of
from modelops.gitops.rules.releases import INFERENCE_SERVICE, KSERVE
from modelops.gitops.rules.rule import Rule
from modelops.serving import contract

RELEASE_LABEL = "modelops.io/release"


def _served_name(document: dict[str, Any]) -> list[str]:
    model = get(document, "spec", "predictor", "model")
    problems = []
    if get(model, "runtime") != contract.RUNTIME:
        problems.append(f"model runtime must be {contract.RUNTIME}, the platform's pinned MLServer")
    # Exactly the served name: any other variable would change what runs without the gate judging it.
    if items(get(model, "env")) != contract.served_model_env(model_of(document)):
        problems.append(
            f"model env must be exactly {contract.MODEL_NAME_ENV}={model_of(document)}: the route sends "
            f"/v2/models/{model_of(document)}/ to every release, and KServe names the model after the "
            "InferenceService otherwise"
        )
    return problems


def _payload_logger(document: dict[str, Any]) -> list[str]:
    release = mapping(get(document, "metadata", "labels")).get(RELEASE_LABEL)
    version = mapping(get(document, "metadata", "annotations")).get(layout.VERSION_ANNOTATION)
    if not isinstance(release, str) or not isinstance(version, str):
        return [f"payload logger: no {RELEASE_LABEL} label or version annotation to judge it by"]
    wanted = contract.payload_logger(model=model_of(document), release=release, version=version)
    if get(document, "spec", "predictor", "logger") != wanted:
        return [f"predictor logger must be mode {wanted['mode']} to {wanted['url']}"]
    return []


RULES = (
    Rule(
        id="CKV_MODELOPS_18",
        title="InferenceService must not answer to a name but its model's, or run off the platform runtime",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="CONVENTION",
        problems=_served_name,
    ),
    Rule(
        id="CKV_MODELOPS_19",
        title="InferenceService must not log payloads but to the sink, naming its model, release and version",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="LOGGING",
        problems=_payload_logger,
    ),
)
