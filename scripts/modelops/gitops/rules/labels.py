"""Rules for what a models namespace holds and how each object says whose it is: four known kinds,
the environment's namespace, and Kubernetes' recommended labels naming the model."""

from __future__ import annotations

from typing import Any

from modelops.gitops.rules.reading import api_group, get, mapping, model_of

# Named by each model's object itself, in its own file: kustomize's `labels` transformer in the
# base did this at a fifth of the render's cost, and missed what components add.
PART_OF = "app.kubernetes.io/part-of"
NAME = "app.kubernetes.io/name"
MODEL_LABEL = "modelops.io/model"  # on each predictor pod; what the model's NetworkPolicy selects

# The kinds a models namespace holds, by API group, each judged by a rule or the schemas; any other
# kind (a Deployment, a ConfigMap, a Secret) would run or configure something no gate has judged.
MODEL_KINDS = {
    "InferenceService": "serving.kserve.io",
    "HTTPRoute": "gateway.networking.k8s.io",
    "NetworkPolicy": "networking.k8s.io",
    "ServiceAccount": "",
}
NAMED_FOR_THE_MODEL = ("InferenceService", "HTTPRoute", "ServiceAccount")


def unknown_kind(document: dict[str, Any]) -> str | None:
    kind = document.get("kind")
    if kind in MODEL_KINDS and api_group(document) == MODEL_KINDS[kind]:
        return None
    allowed = ", ".join(f"{k} ({g or 'core'})" for k, g in MODEL_KINDS.items())
    group = api_group(document) or "core"
    return f"no rule judges a {kind} ({group}) in a models namespace (allowed: {allowed})"


def wrong_namespace(document: dict[str, Any], namespace: str) -> str | None:
    if get(document, "metadata", "namespace") != namespace:
        return f"namespace must be {namespace}, the environment's destination"
    return None


def _guarded_model(policy: dict[str, Any]) -> Any:
    return get(policy, "spec", "podSelector", "matchLabels", MODEL_LABEL)


def label_problems(document: dict[str, Any]) -> list[str]:
    """Kubernetes' recommended labels, naming the model, so `kubectl get -l` and dashboards find it."""
    labels = mapping(get(document, "metadata", "labels"))
    problems = []
    if labels.get(PART_OF) != "modelops":
        problems.append(f"label {PART_OF} must be modelops")
    named = labels.get(NAME)
    if not named:
        problems.append(f"label {NAME} must name the model")
    elif document.get("kind") in NAMED_FOR_THE_MODEL and named != model_of(document):
        problems.append(f"label {NAME} is {named}, but this is {model_of(document)}'s")
    elif document.get("kind") == "NetworkPolicy" and named != (guarded := _guarded_model(document)):
        # A policy is named <model>-ingress; whose it is shows in the pods it selects.
        whose = f"guards {guarded}'s pods" if guarded else f"selects no model's pods ({MODEL_LABEL})"
        problems.append(f"label {NAME} is {named}, but this policy {whose}")
    return problems
