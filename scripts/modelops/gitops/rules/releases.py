"""Rules for releases: an InferenceService serves one immutable, registered artifact, as KServe's
RawDeployment over the Open Inference Protocol, and a candidate exists only while a rollout runs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from modelops.gitops.repository import layout
from modelops.gitops.rules.reading import get, items, mapping, model_of, name_of
from modelops.gitops.rules.rule import Rule
from modelops.serving import contract

KSERVE = "serving.kserve.io"

# Object stores KServe's storage initializer reads. http:// is refused: the artifact could be swapped
# in transit. pvc:// and hdfs:// are mutable file systems; models:/ and runs:/ are resolved by the
# registry at load time. file:// is an embedded registry's artifact root (local stacks, tests).
OBJECT_STORE_SCHEMES = ("s3", "gs", "https", "file")
REGISTRY_SCHEMES = ("models", "runs")  # an "@" also marks credentials in a URL: refused as well
# Values a template or a half-finished promotion leaves behind.
PLACEHOLDER = re.compile(r"set-by|placeholder|change-?me|replace-?me|\btodo\b|\btbd\b|[<>{}$]", re.IGNORECASE)
# Path segments that name whatever was uploaded last rather than one artifact.
MUTABLE_SEGMENT = re.compile(r"latest|current|head", re.IGNORECASE)
# MLflow never reuses a run id or a logged-model id; a digest names its content.
IMMUTABLE_ID = re.compile(r"[0-9a-f]{32}|m-[0-9a-f]{32}|(sha256[:-])?[0-9a-f]{64}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")  # fullmatch: `$` would let a trailing newline through
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"


def storage_uri_problem(uri: Any) -> str | None:
    """Why `uri` is not one pinned, immutable artifact location, or None when it is."""
    if not isinstance(uri, str) or not uri.strip():
        return "has no storageUri"
    if PLACEHOLDER.search(uri):
        return f"storageUri {uri} is a placeholder, not an artifact location"
    parts = urlsplit(uri)
    if parts.scheme in REGISTRY_SCHEMES or "@" in uri:
        return f"storageUri {uri} is mutable: an alias or registry URI is resolved when the pod loads it"
    if parts.scheme not in OBJECT_STORE_SCHEMES:
        schemes = ", ".join(f"{s}://" for s in OBJECT_STORE_SCHEMES)
        return f"storageUri {uri} is not an artifact location ({schemes}): a file system can change under it"
    if not parts.netloc and parts.scheme != "file":
        return f"storageUri {uri} names no bucket or host"
    segments = [s for s in parts.path.split("/") if s]
    if moving := [s for s in segments if MUTABLE_SEGMENT.fullmatch(s.split(".")[0])]:
        return f"storageUri {uri} is mutable: {moving[0]} names whatever was uploaded last"
    if not any(IMMUTABLE_ID.fullmatch(s) for s in segments):
        return f"storageUri {uri} names no run id, logged-model id or digest: it could be overwritten"
    return None


def _pinned_artifact(document: dict[str, Any]) -> list[str]:
    problem = storage_uri_problem(get(document, "spec", "predictor", "model", "storageUri"))
    return [problem] if problem else []


def _annotations(document: dict[str, Any]) -> dict[str, Any]:
    return mapping(get(document, "metadata", "annotations"))


def _raw_deployment(document: dict[str, Any]) -> list[str]:
    # In Serverless mode Knative would route, and KServe's canaryTrafficPercent would fight the
    # HTTPRoute's weights the rollout writes.
    if _annotations(document).get(DEPLOYMENT_MODE) != "RawDeployment":
        return [f"{DEPLOYMENT_MODE} must be RawDeployment"]
    return []


def _mlflow_v2(document: dict[str, Any]) -> list[str]:
    # The registry exports MLflow models and the gateway routes /v2/models/...; another format or
    # protocol picks another runtime, which answers on other paths or not at all.
    model = get(document, "spec", "predictor", "model")
    if get(model, "modelFormat", "name") != "mlflow" or get(model, "protocolVersion") != "v2":
        return ["model must be modelFormat mlflow on protocol v2"]
    return []


def _release_annotations(document: dict[str, Any]) -> list[str]:
    # What the gate judged and what the registry holds: without them no one can say what runs.
    said = _annotations(document)
    problems = []
    if not DIGEST.fullmatch(str(said.get(layout.DIGEST_ANNOTATION, ""))):
        problems.append(f"annotation {layout.DIGEST_ANNOTATION} must be sha256:<64 hex>")
    if not contract.is_version(said.get(layout.VERSION_ANNOTATION)):
        problems.append(f"annotation {layout.VERSION_ANNOTATION} must be a registered version number")
    return problems


INFERENCE_SERVICE = frozenset({"InferenceService"})

RULES = (
    Rule(
        id="CKV_MODELOPS_1",
        title="InferenceService storageUri must not be unpinned (models:/, alias, latest, placeholder)",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="SUPPLY_CHAIN",
        problems=_pinned_artifact,
    ),
    Rule(
        id="CKV_MODELOPS_2",
        title="InferenceService must not run without the RawDeployment deploymentMode annotation",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="KUBERNETES",
        problems=_raw_deployment,
    ),
    Rule(
        id="CKV_MODELOPS_3",
        title="InferenceService must not serve anything but modelFormat mlflow over protocolVersion v2",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="CONVENTION",
        problems=_mlflow_v2,
    ),
    Rule(
        id="CKV_MODELOPS_15",
        title="InferenceService must not omit its registered version and artifact digest annotations",
        kinds=INFERENCE_SERVICE,
        api_group=KSERVE,
        category="SUPPLY_CHAIN",
        problems=_release_annotations,
    ),
)

# Needs every object of an environment at once: validate runs it, checkov (one object at a time) cannot.
CANDIDATES = "MODELOPS_CANDIDATES"


def _routes_to_candidate(route: dict[str, Any], model: str) -> bool:
    service = layout.stable_service(layout.candidate_name(model))
    for rule in items(get(route, "spec", "rules")):
        refs = items(get(rule, "backendRefs"))
        mirrors = [get(f, "requestMirror", "backendRef") for f in items(get(rule, "filters"))]
        if any(get(ref, "name") == service for ref in [*refs, *mirrors]):
            return True
    return False


def candidates_without_rollout(documents: Iterable[dict[str, Any]]) -> dict[str, str]:
    """{model: problem} where a candidate exists without a rollout, or a route points at none."""
    documents = list(documents)
    candidates = {
        model_of(d)
        for d in documents
        if d.get("kind") == "InferenceService" and name_of(d).endswith(layout.CANDIDATE_SUFFIX)
    }
    routed = {
        model_of(d)
        for d in documents
        if d.get("kind") == "HTTPRoute" and _routes_to_candidate(d, model_of(d))
    }
    problems = {
        m: "a candidate release is deployed but receives no traffic: no rollout in progress"
        for m in candidates - routed
    }
    problems |= {m: "traffic goes to a candidate that is not deployed" for m in routed - candidates}
    return problems
