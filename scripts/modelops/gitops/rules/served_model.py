"""Rules for what a release answers to and where its payloads go: the platform's runtime, the model's
own name on the route's path (or the candidate's share of traffic gets 404s), and a payload logger
that names the model, release and version the gate judged (or the monitor job sees nothing, or
attributes rows to the wrong version)."""

from __future__ import annotations

from typing import Any

from modelops.gitops.repository import layout
from modelops.gitops.rules.reading import get, items, mapping, model_of, name_of
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
    # The role comes from the name, not from a label the author sets: a candidate labelled stable
    # would log into stable's partitions and be charted as stable. Both release labels must say it
    # (the object's, and the pods' that the PodMonitor turns into the series' `release`).
    model = model_of(document)
    role = contract.role_of(name_of(document), model=model)
    version = mapping(get(document, "metadata", "annotations")).get(layout.VERSION_ANNOTATION)
    problems = [
        f"{where} {RELEASE_LABEL} must be {role}, as its name says"
        for where, labels in (
            ("label", get(document, "metadata", "labels")),
            ("predictor label", get(document, "spec", "predictor", "labels")),
        )
        if mapping(labels).get(RELEASE_LABEL) != role
    ]
    if not contract.is_version(version):
        return [*problems, "payload logger: no registered version annotation to name in its URL"]
    wanted = contract.payload_logger(model=model, release=role, version=str(version))
    if get(document, "spec", "predictor", "logger") != wanted:
        problems.append(f"predictor logger must be mode {wanted['mode']} to {wanted['url']}")
    return problems


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
