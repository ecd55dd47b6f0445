"""One environment's rendered models namespace, judged by every rule: what validate reports per object."""

from __future__ import annotations

from typing import Any

from modelops.gitops.repository import layout
from modelops.gitops.rules import labels
from modelops.gitops.rules.catalogue import object_problems
from modelops.gitops.rules.finding import Finding
from modelops.gitops.rules.reading import model_of, name_of, subject
from modelops.gitops.rules.releases import CANDIDATES, candidates_without_rollout

KINDS, NAMESPACE, LABELS = "MODELOPS_KINDS", "MODELOPS_NAMESPACE", "MODELOPS_LABELS"


def source_file(environment: str, document: dict[str, Any]) -> str:
    """The file a person edits to change this object: the overlay file, for release objects."""
    kind, model = document.get("kind"), model_of(document)
    if kind == "InferenceService":
        is_candidate = name_of(document).endswith(layout.CANDIDATE_SUFFIX)
        return layout.overlay_file(model, environment, layout.CANDIDATE if is_candidate else layout.RELEASE)
    if kind == "HTTPRoute":
        return layout.overlay_file(model, environment, layout.TRAFFIC)
    return f"{layout.environment_dir(environment)} ({subject(document)})"


def check_environment(environment: str, namespace: str, documents: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for document in documents:
        where, what = source_file(environment, document), subject(document)
        if problem := labels.unknown_kind(document):
            findings.append(Finding(where, problem, object=what, rule=KINDS))
            continue
        findings += [Finding(where, p, object=what, rule=rule.id) for rule, p in object_problems(document)]
        findings += [Finding(where, p, object=what, rule=LABELS) for p in labels.label_problems(document)]
        if problem := labels.wrong_namespace(document, namespace):
            findings.append(Finding(where, problem, object=what, rule=NAMESPACE))
    for model, problem in candidates_without_rollout(documents).items():
        where = layout.overlay_file(model, environment, layout.KUSTOMIZATION)
        findings.append(Finding(where, problem, rule=CANDIDATES))
    return findings
