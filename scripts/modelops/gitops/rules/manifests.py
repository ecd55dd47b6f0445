"""The repository's own rules for rendered manifests, as pure functions over objects.

Schemas say what Kubernetes accepts; these say what this platform accepts: releases
pinned to immutable artifacts with their digest, the restricted security profile,
resources set, traffic weights that add up, and a candidate only while a rollout runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelops.errors import InputError
from modelops.gitops.rendering.served import rendered_release
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import load, release_of

# Object stores the storage initializer reads (the same rule as checkov's CKV_MODELOPS_1): not
# http (swappable in transit), not pvc:// or hdfs:// (mutable file systems).
PINNED_SCHEMES = ("s3://", "gs://", "https://", "file://")
# An alias, a registry URI or a moving tag can change under a release without a commit.
MUTABLE = re.compile(r"^(models|runs):/|@|\b(latest|current|head)\b|set-by-the-overlay", re.IGNORECASE)
# MLflow never reuses a run id or logged-model id; a digest names its content.
IMMUTABLE_ID = re.compile(r"/([0-9a-f]{32}|m-[0-9a-f]{32}|(sha256[:-])?[0-9a-f]{64})(/|$)")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Finding:
    where: str
    message: str


def _name(document: dict[str, Any]) -> str:
    return str(document.get("metadata", {}).get("name", ""))


def model_of(document: dict[str, Any]) -> str:
    name = _name(document)
    return name.removesuffix("-candidate")


def source_file(environment: str, document: dict[str, Any]) -> str:
    """The file a human edits to change this object: the overlay file for release objects."""
    kind, name = document.get("kind"), _name(document)
    model = model_of(document)
    if kind == "InferenceService":
        file = layout.CANDIDATE if name.endswith("-candidate") else layout.RELEASE
        return layout.overlay_file(model, environment, file)
    if kind == "HTTPRoute":
        return layout.overlay_file(model, environment, layout.TRAFFIC)
    return f"{layout.environment_dir(environment)} ({kind}/{name})"


def storage_uri_problem(uri: str) -> str | None:
    if not uri:
        return "has no storageUri"
    if MUTABLE.search(uri):
        return (
            f"storageUri {uri} is mutable (an alias, registry URI or moving tag); pin the artifact location"
        )
    if not uri.startswith(PINNED_SCHEMES):
        return f"storageUri {uri} is not an artifact location ({', '.join(PINNED_SCHEMES)})"
    if not IMMUTABLE_ID.search(uri):
        return f"storageUri {uri} names no run id, logged-model id or digest: it could be overwritten"
    return None


def _restricted_problems(predictor: dict[str, Any]) -> list[str]:
    pod = predictor.get("securityContext") or {}
    container = (predictor.get("model") or {}).get("securityContext") or {}
    problems = []
    if container.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation must be false")
    if "ALL" not in ((container.get("capabilities") or {}).get("drop") or []):
        problems.append("capabilities must drop ALL")
    if not (container.get("runAsNonRoot") is True or pod.get("runAsNonRoot") is True):
        problems.append("runAsNonRoot must be true")
    seccomp = (container.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append("seccompProfile must be RuntimeDefault or Localhost")
    return problems


# What an InferenceService may say, field by field. The platform's runtime serves the pinned artifact;
# a field beyond these (a container image, command, args or env, a transformer, another framework,
# a custom container) would run something the gate never judged, so it is refused, not ignored.
SERVING_FIELDS: dict[str, frozenset[str]] = {
    "spec": frozenset({"predictor"}),
    "spec.predictor": frozenset(
        {
            "model",
            "serviceAccountName",
            "minReplicas",
            "maxReplicas",
            "scaleTarget",
            "scaleMetric",
            "scaleMetricType",
            "labels",
            "securityContext",
            "nodeSelector",
            "tolerations",
            "affinity",
            "topologySpreadConstraints",
            "priorityClassName",
        }
    ),
    "spec.predictor.model": frozenset(
        {"modelFormat", "protocolVersion", "storageUri", "runtime", "resources", "securityContext"}
    ),
}


def unjudged_fields(document: dict[str, Any]) -> list[str]:
    """Fields of an InferenceService outside SERVING_FIELDS, as dotted paths."""
    extra = []
    for where, allowed in SERVING_FIELDS.items():
        node: Any = document
        for key in where.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            extra += [f"{where}.{key}" for key in sorted(node, key=str) if key not in allowed]
    return extra


def check_inference_service(document: dict[str, Any]) -> list[str]:
    predictor = (document.get("spec") or {}).get("predictor") or {}
    model = predictor.get("model") or {}
    annotations = document.get("metadata", {}).get("annotations") or {}
    problems = []
    if problem := storage_uri_problem(str(model.get("storageUri") or "")):
        problems.append(problem)
    if not DIGEST.match(str(annotations.get(layout.DIGEST_ANNOTATION, ""))):
        problems.append(f"annotation {layout.DIGEST_ANNOTATION} must be sha256:<64 hex>")
    if not str(annotations.get(layout.VERSION_ANNOTATION, "")).isdigit():
        problems.append(f"annotation {layout.VERSION_ANNOTATION} must be a registered version number")
    if annotations.get("serving.kserve.io/deploymentMode") != "RawDeployment":
        problems.append("serving.kserve.io/deploymentMode must be RawDeployment")
    if (model.get("modelFormat") or {}).get("name") != "mlflow" or model.get("protocolVersion") != "v2":
        problems.append("model must be modelFormat mlflow on protocol v2")
    if predictor.get("serviceAccountName") in (None, "", "default"):
        problems.append("predictor needs its own serviceAccountName")
    resources = model.get("resources") or {}
    for section in ("requests", "limits"):
        missing = [r for r in ("cpu", "memory") if r not in (resources.get(section) or {})]
        if missing:
            problems.append(f"resources.{section} must set {', '.join(missing)}")
    problems += [f"security context: {p}" for p in _restricted_problems(predictor)]
    problems += [
        f"field {field} is not one the platform serves with: only the pinned artifact runs, on the "
        "platform's runtime"
        for field in unjudged_fields(document)
    ]
    return problems


def check_route(document: dict[str, Any]) -> list[str]:
    problems = []
    model = model_of(document)
    own = {layout.stable_service(model), layout.stable_service(layout.candidate_name(model))}
    for index, rule in enumerate((document.get("spec") or {}).get("rules") or []):
        weights = [ref.get("weight", 1) for ref in rule.get("backendRefs") or []]
        if sum(weights) != 100:
            problems.append(f"rule {index}: backend weights add up to {sum(weights)}, not 100")
        mirrors = [(f.get("requestMirror") or {}).get("backendRef") or {} for f in rule.get("filters") or []]
        for ref in [*(rule.get("backendRefs") or []), *mirrors]:
            # Another Service, kind or namespace would send the model's traffic somewhere no gate judged.
            if ref.get("name") not in own or ref.get("namespace") or ref.get("kind", "Service") != "Service":
                problems.append(
                    f"rule {index}: backend {ref.get('kind', 'Service')}/{ref.get('name')}"
                    f"{' in ' + str(ref.get('namespace')) if ref.get('namespace') else ''} is not one of "
                    f"{model}'s own Services ({', '.join(sorted(own))})"
                )
    return problems


def _candidate_references(route: dict[str, Any], model: str) -> bool:
    service = layout.stable_service(layout.candidate_name(model))
    for rule in (route.get("spec") or {}).get("rules") or []:
        if any(ref.get("name") == service for ref in rule.get("backendRefs") or []):
            return True
        for item in rule.get("filters") or []:
            if (item.get("requestMirror") or {}).get("backendRef", {}).get("name") == service:
                return True
    return False


def check_candidates(documents: Iterable[dict[str, Any]]) -> dict[str, str]:
    """{model: problem} where a candidate exists without a rollout, or a route points at none."""
    documents = list(documents)
    candidates = {
        model_of(d)
        for d in documents
        if d.get("kind") == "InferenceService" and _name(d).endswith("-candidate")
    }
    routed = {
        model_of(d)
        for d in documents
        if d.get("kind") == "HTTPRoute" and _candidate_references(d, model_of(d))
    }
    problems = {
        m: "a candidate release is deployed but receives no traffic: no rollout in progress"
        for m in candidates - routed
    }
    problems |= {m: "traffic goes to a candidate that is not deployed" for m in routed - candidates}
    return problems


# Named by each model's object itself, in its own file: kustomize's `labels` transformer in the
# base did this at a fifth of the render's cost, and missed what components add.
PART_OF = "app.kubernetes.io/part-of"
NAME = "app.kubernetes.io/name"
MODEL_LABEL = "modelops.io/model"  # on each predictor pod; what the model's NetworkPolicy selects


def check_labels(document: dict[str, Any]) -> list[str]:
    """Kubernetes' recommended labels, naming the model, so `kubectl get -l` and dashboards find it."""
    labels = document.get("metadata", {}).get("labels") or {}
    problems = []
    if labels.get(PART_OF) != "modelops":
        problems.append(f"label {PART_OF} must be modelops")
    named = labels.get(NAME)
    if not named:
        problems.append(f"label {NAME} must name the model")
    elif document.get("kind") in ("InferenceService", "HTTPRoute", "ServiceAccount") and (
        named != model_of(document)
    ):
        problems.append(f"label {NAME} is {named}, but this is {model_of(document)}'s")
    elif document.get("kind") == "NetworkPolicy" and named != (guarded := _guarded_model(document)):
        # A policy is named <model>-ingress; whose it is shows in the pods it selects.
        whose = f"guards {guarded}'s pods" if guarded else f"selects no model's pods ({MODEL_LABEL})"
        problems.append(f"label {NAME} is {named}, but this policy {whose}")
    return problems


def _guarded_model(policy: dict[str, Any]) -> Any:
    # kustomize renders whatever shapes the files hold; the schemas report wrong ones.
    selected: Any = policy
    for field in ("spec", "podSelector", "matchLabels"):
        selected = selected.get(field) if isinstance(selected, dict) else None
    return selected.get(MODEL_LABEL) if isinstance(selected, dict) else None


# The kinds a models namespace holds, each judged by a rule here or the schemas; any other kind (a
# Deployment, a ConfigMap, a Secret) would run or configure something no gate has judged.
MODEL_KINDS = ("InferenceService", "HTTPRoute", "NetworkPolicy", "ServiceAccount")


def check_environment(environment: str, namespace: str, documents: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for document in documents:
        kind = document.get("kind")
        if kind not in MODEL_KINDS:
            findings.append(
                Finding(
                    source_file(environment, document),
                    f"{kind}/{_name(document)}: no rule judges a {kind} in a models namespace "
                    f"(allowed: {', '.join(MODEL_KINDS)})",
                )
            )
            continue
        problems = (
            check_inference_service(document)
            if kind == "InferenceService"
            else check_route(document)
            if kind == "HTTPRoute"
            else []
        )
        problems += check_labels(document)
        if document.get("metadata", {}).get("namespace") != namespace:
            problems.append(f"namespace must be {namespace}, the environment's destination")
        findings += [Finding(source_file(environment, document), p) for p in problems]
    for model, problem in check_candidates(documents).items():
        findings.append(Finding(layout.overlay_file(model, environment, layout.KUSTOMIZATION), problem))
    return findings


def check_release_files(
    environment: str, documents: list[dict[str, Any]], texts: Mapping[str, str]
) -> list[Finding]:
    """Each rendered InferenceService serves exactly what its release file says (version, URI, digest).

    Releases are promoted, reviewed and rolled back through these files; another patch, the base or a
    component that changes what is served behind their back is named here, at the file it contradicts.
    `texts` holds the release files by repository path.
    """
    findings = []
    for document in documents:
        if document.get("kind") != "InferenceService":
            continue
        path = source_file(environment, document)
        if path not in texts:
            findings.append(
                Finding(path, f"not found, yet {environment} renders InferenceService {_name(document)}")
            )
            continue
        try:
            pinned = release_of(load(texts[path], path), path)
        except InputError as error:
            findings.append(Finding(path, str(error).removeprefix(f"{path}: ")))
            continue
        rendered = rendered_release(document)
        for field, said, served in (
            ("version", pinned.version, rendered.version),
            ("storageUri", pinned.storage_uri, rendered.storage_uri),
            ("digest", pinned.digest, rendered.digest),
        ):
            if said != served:
                findings.append(
                    Finding(
                        path,
                        f"says {field} {said}, but the rendered InferenceService {_name(document)} serves "
                        f"{served or 'none'}: another file changes the release",
                    )
                )
    return findings
