"""What every InferenceService of the platform must say to be served and monitored, in one place: the
rules that judge rendered manifests, the promotion that writes overlays, the tests that start MLServer
the way KServe does and the infra that deploys the runtime and the payload sink all read it here.

- The runtime: a ClusterServingRuntime the platform installs (infra), running the image built from
  infra/images/mlserver, whose lock pins MLServer and the model's own dependencies.
- The served name: KServe's defaulting webhook sets `MLSERVER_MODEL_NAME` to the InferenceService's
  name unless the predictor's model sets it (pkg/apis/serving/v1beta1/inference_service_defaults.go,
  SetMlServerDefaults: AppendEnvVarIfNotExists). A candidate is a second InferenceService,
  `<model>-candidate`, but the HTTPRoute sends `/v2/models/<model>/...` to both releases, so each
  release must answer to the model's name, or the candidate's share of traffic gets 404 "Model
  <model> not found". Every release sets it explicitly.
- The payload logger: KServe's agent sends each request and response (mode `all`) as CloudEvents to
  the logger URL. The URL names the model, the release and the version, so a stored row says which
  version served it without trusting anything the caller sent.
"""

from __future__ import annotations

import re

# A release's role, its InferenceService's `modelops.io/release` label: the Prometheus series, the
# logger URL and the payload partitions all carry it.
STABLE, CANDIDATE = "stable", "candidate"

RUNTIME = "modelops-mlserver"
# The method the served pyfunc calls (MLmodel flavors.python_function.predict_fn): each row's class
# probabilities, columns in the model's classes_ order. The gate scores exactly these, and the
# monitor's prediction drift, live metrics and shadow divergence read them from the payloads.
SERVED_METHOD = "predict_proba"
MODEL_NAME_ENV = "MLSERVER_MODEL_NAME"
MODEL_URI_ENV = "MLSERVER_MODEL_URI"
# Where KServe's storage initializer lays out the artifact (constants.DefaultModelLocalMountPath).
MODELS_DIR = "/mnt/models"
HTTP_PORT, GRPC_PORT, METRICS_PORT = 8080, 9000, 8082
# The runtime container's environment, as the ClusterServingRuntime (infra) sets it: MLServer's
# MLflow runtime for every model, on the ports the Service, the NetworkPolicy and the PodMonitor use.
RUNTIME_ENV = {
    "MLSERVER_MODEL_IMPLEMENTATION": "mlserver_mlflow.MLflowRuntime",
    "MLSERVER_HTTP_PORT": str(HTTP_PORT),
    "MLSERVER_GRPC_PORT": str(GRPC_PORT),
    "MLSERVER_METRICS_PORT": str(METRICS_PORT),
    "MODELS_DIR": MODELS_DIR,
    # MLflow refuses a skops model whose trusted-types list comes from the artifact itself unless
    # told otherwise. Here the list is part of the artifact whose sha256 manifest the gate judged and
    # the overlay pins; the artifact is verified against that manifest before the server loads it.
    "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
}
# The Service infra deploys for the payload sink (infra/modelops_infra/components/payload_sink.py).
SINK_SERVICE, SINK_NAMESPACE, SINK_PORT = "payload-sink", "modelops-jobs", 8080
PAYLOAD_SINK = f"http://{SINK_SERVICE}.{SINK_NAMESPACE}.svc.cluster.local:{SINK_PORT}"
PAYLOADS_PATH = "payloads"  # the sink's route: /payloads/<model>/<release>/<version>
LOGGER_MODE = "all"


# A registered version as the registry numbers it: no sign, no leading zero, ASCII digits only
# (str.isdigit also takes Arabic-Indic digits, and "07" would be another partition than "7").
_VERSION = re.compile(r"[1-9][0-9]{0,8}")


def is_version(text: object) -> bool:
    return isinstance(text, str) and _VERSION.fullmatch(text) is not None


# A rollout's candidate InferenceService (and its other objects) is named the model's name plus this.
CANDIDATE_SUFFIX = "-candidate"


def inference_service(model: str, role: str) -> str:
    """The InferenceService that serves `role` of `model`: `<model>`, or `<model>-candidate`."""
    if role not in (STABLE, CANDIDATE):
        raise ValueError(f"release {role!r} is not {STABLE} or {CANDIDATE}")
    return f"{model}{CANDIDATE_SUFFIX}" if role == CANDIDATE else model


def release_of(name: str) -> tuple[str, str]:
    """(model, role) an InferenceService's name stands for."""
    if name.endswith(CANDIDATE_SUFFIX):
        return name.removesuffix(CANDIDATE_SUFFIX), CANDIDATE
    return name, STABLE


def role_of(name: str, *, model: str) -> str:
    """The release an InferenceService of `model` is, by its name: the candidate is `<model>-candidate`."""
    return CANDIDATE if name == inference_service(model, CANDIDATE) else STABLE


def served_model_env(model: str) -> list[dict[str, str]]:
    """The model container's environment: exactly the served name, nothing else."""
    return [{"name": MODEL_NAME_ENV, "value": model}]


def logger_url(*, model: str, release: str, version: str) -> str:
    return f"{PAYLOAD_SINK}/{PAYLOADS_PATH}/{model}/{release}/{version}"


def payload_logger(*, model: str, release: str, version: str) -> dict[str, str]:
    return {"mode": LOGGER_MODE, "url": logger_url(model=model, release=release, version=version)}
