"""Rules for how a model's pods run: their own identity, bounded resources, the restricted Pod
Security profile, and nothing besides the pinned artifact on the platform's runtime."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelops.gitops.rules.reading import get, items, mapping
from modelops.gitops.rules.releases import INFERENCE_SERVICE, KSERVE
from modelops.gitops.rules.rule import Rule

ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
# KServe components that run a pod of their own; the predictor also carries the model container.
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")


def _service_account(document: dict[str, Any]) -> list[str]:
    # The storage initializer reads the artifact with the pod's identity; the namespace's `default`
    # account would hand that read access to every other pod in the namespace.
    account = get(document, "spec", "predictor", "serviceAccountName")
    if isinstance(account, str) and account.strip() not in ("", "default"):
        return []
    return ["predictor needs its own serviceAccountName"]


def _quantity(value: Any) -> bool:
    # A quantity is a string ("512Mi") or a number (1); a bool is an int in Python but no quantity.
    return (
        isinstance(value, str | int | float)
        and not isinstance(value, bool)
        and str(value).strip() not in ("", "0")
    )


def _resources(document: dict[str, Any]) -> list[str]:
    # Without requests the scheduler packs model pods onto nodes that cannot hold them; without
    # limits one large batch can take the node's memory from its neighbours.
    resources = get(document, "spec", "predictor", "model", "resources")
    problems = []
    for section in ("requests", "limits"):
        missing = [r for r in ("cpu", "memory") if not _quantity(get(resources, section, r))]
        if missing:
            problems.append(f"resources.{section} must set {', '.join(missing)}")
    return problems


def containers(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(path, pod spec, container) for every container of every component pod of an InferenceService."""
    for component in KSERVE_COMPONENTS:
        pod = get(document, "spec", component)
        if not isinstance(pod, dict):
            continue
        if component == "predictor" and "model" in pod:
            yield f"spec.{component}.model", pod, pod["model"]
        for field in ("containers", "initContainers"):
            for index, container in enumerate(items(pod.get(field))):
                yield f"spec.{component}.{field}[{index}]", pod, container


def restricted_violations(container: Any, pod: dict[str, Any]) -> list[str]:
    """The securityContext settings of one container that break Pod Security Standards "restricted"."""
    own = mapping(get(container, "securityContext"))
    inherited = mapping(pod.get("securityContext"))

    def effective(field: str) -> Any:
        # Kubernetes applies the container's value when set, else the pod's.
        return own[field] if own.get(field) is not None else inherited.get(field)

    problems = []
    if own.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation must be false")
    if own.get("privileged") is True:
        problems.append("privileged must not be true")
    if "ALL" not in items(get(own, "capabilities", "drop")):
        problems.append("capabilities must drop ALL")
    if not set(items(get(own, "capabilities", "add"))) <= ALLOWED_ADDED_CAPABILITIES:
        problems.append(f"capabilities may add only {', '.join(sorted(ALLOWED_ADDED_CAPABILITIES))}")
    if effective("runAsNonRoot") is not True:
        problems.append("runAsNonRoot must be true")
    if effective("runAsUser") == 0:
        problems.append("runAsUser must not be 0")
    if get(effective("seccompProfile"), "type") not in ALLOWED_SECCOMP:
        problems.append("seccompProfile must be RuntimeDefault or Localhost")
    return problems


def _restricted(document: dict[str, Any]) -> list[str]:
    # The model namespaces enforce the restricted profile: the API server accepts a non-compliant
    # InferenceService, then KServe's Deployment creates no pods, and the release looks synced while
    # it serves nothing. Every container of every component counts, not just the model's.
    found = list(containers(document))
    if not found:
        return ["security context: no container to judge"]
    return [
        f"security context of {path}: {problem}"
        for path, pod, container in found
        for problem in restricted_violations(container, pod)
    ]


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
            "logger",  # CKV_MODELOPS_19 holds it to the platform's payload sink
        }
    ),
    "spec.predictor.model": frozenset(
        # env: CKV_MODELOPS_18 holds it to exactly the served model's name
        {"modelFormat", "protocolVersion", "storageUri", "runtime", "resources", "securityContext", "env"}
    ),
}


def unjudged_fields(document: dict[str, Any]) -> list[str]:
    """Fields of an InferenceService outside SERVING_FIELDS, as dotted paths."""
    extra = []
    for where, allowed in SERVING_FIELDS.items():
        node = get(document, *where.split("."))
        if isinstance(node, dict):
            extra += [f"{where}.{key}" for key in sorted(node, key=str) if key not in allowed]
    return extra


def _only_the_artifact(document: dict[str, Any]) -> list[str]:
    return [
        f"field {field} is not one the platform serves with: only the pinned artifact runs, on the "
        "platform's runtime"
        for field in unjudged_fields(document)
    ]


RULES = (
    Rule(
        id="CKV_MODELOPS_4",
        title="InferenceService must not run under an empty or the default serviceAccountName",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="IAM",
        problems=_service_account,
    ),
    Rule(
        id="CKV_MODELOPS_5",
        title="InferenceService model container must not omit cpu or memory requests and limits",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="KUBERNETES",
        problems=_resources,
    ),
    Rule(
        id="CKV_MODELOPS_6",
        title="InferenceService containers must not run outside the restricted Pod Security Standard",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="KUBERNETES",
        problems=_restricted,
    ),
    Rule(
        id="CKV_MODELOPS_16",
        title="InferenceService must not set fields beyond the pinned artifact on the platform's runtime",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="SUPPLY_CHAIN",
        problems=_only_the_artifact,
    ),
)
