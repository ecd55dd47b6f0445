"""The platform's storage initializer: a ClusterStorageContainer that runs the modelops image's
verifier (scripts/modelops/serving/fetch_verified.py) for every storage URI a release may use, and
the patch that keeps the KServe chart's own ClusterStorageContainer from claiming the same URIs.

How KServe v0.16 picks the init container that fills /mnt/models (read in kserve/kserve at v0.16.0):

- The predictor's pod carries `internal.serving.kserve.io/storage-initializer-sourceuri`; the pod
  webhook (pkg/webhook/admission/pod/storage_initializer_injector.go, InjectStorageInitializer)
  lists the ClusterStorageContainers and takes the *first* enabled `initContainer` one whose
  `supportedUriFormats` match the URI (a prefix, or a Go regexp found anywhere in it). The list
  comes from controller-runtime's informer cache, whose order is not defined: with two matching
  containers either may be taken, pod by pod.
- With none matching, KServe builds its default `kserve/storage-initializer` container from the
  inferenceservice ConfigMap: no verification. So the platform's container must claim every URI the
  release rules admit (`modelops.serving.initializer.CLAIMED_URI_PREFIXES`).
- The `kserve` chart always installs a ClusterStorageContainer named `default` claiming s3://,
  gs://, https?:// and more (charts/kserve-resources/templates/clusterstoragecontainer.yaml, no
  value turns it off). Its top-level `disabled` field cannot be set through a Pulumi patch (patches
  carry `spec` and `metadata` only), so its `spec.supportedUriFormats` is patched to claim nothing;
  URIs the platform does not claim still reach KServe's built-in default, the same image.
- The chosen container is merged over KServe's own (name `storage-initializer`, args
  `[SRC_URI, /mnt/models]`, the model volume, the S3 credentials and endpoint KServe derives from the
  predictor's ServiceAccount) with a strategic merge patch: `command` and `env` here are added,
  `args` are KServe's. The name must stay `storage-initializer`: the webhook recognises an
  already-injected pod by it.
- The pinned digest: the predictor's Deployment and pod template carry the InferenceService's
  annotations (components/predictor.go buildObjectMeta; deployment_reconciler.go copies the
  component's metadata onto the pod template), minus a short disallowed list that does not name
  modelops.io/*. So the downward API reads `modelops.io/artifact-digest` from the pod itself; a
  missing annotation reads as an empty value, which the verifier refuses.
"""

from __future__ import annotations

from typing import Any

from modelops.serving.initializer import CLAIMED_URI_PREFIXES, COMMAND, DIGEST_ENV, DIGEST_FIELD_PATH
from modelops_infra.manifests.workloads import container_security_context, resources

API_VERSION = "serving.kserve.io/v1alpha1"
KIND = "ClusterStorageContainer"
NAME = "modelops-verified-artifacts"
CHART_DEFAULT = "default"  # the one the kserve chart installs
CONTAINER_NAME = "storage-initializer"  # constants.StorageInitializerContainerName


def cluster_storage_container(image: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": NAME},
        "spec": {
            "container": {
                "name": CONTAINER_NAME,
                "image": image,
                # The image's entrypoint is the `modelops` command; KServe gives only the arguments.
                "command": list(COMMAND),
                "env": [
                    {"name": DIGEST_ENV, "valueFrom": {"fieldRef": {"fieldPath": DIGEST_FIELD_PATH}}},
                ],
                # It writes only the model volume: the root filesystem stays read-only.
                "securityContext": container_security_context(),
                # Measured: ~130 MB peak RSS (mlflow is imported with the registry's hashing), flat
                # in the artifact's size since files are streamed in 1 MiB chunks.
                "resources": resources("250m", "256Mi"),
            },
            "supportedUriFormats": [{"prefix": prefix} for prefix in CLAIMED_URI_PREFIXES],
            "workloadType": "initContainer",
            # One URI into one folder: KServe refuses an InferenceService with `storageUris` (a list)
            # rather than handing it to an initializer that would not verify each.
            "supportsMultiModelDownload": False,
        },
    }


def chart_default_claims_nothing() -> dict[str, Any]:
    """The patch of the chart's `default` container: it claims no URI, so it never competes."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": CHART_DEFAULT,
            # Helm owns the field; a server-side apply patch must force to take it over.
            "annotations": {"pulumi.com/patchForce": "true"},
        },
        "spec": {"supportedUriFormats": []},
    }


ADMISSION_POLICY = "modelops-verified-storage-initializer"


def _cel_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def initializer_rule(image: str) -> str:
    """The CEL a model pod must pass: every init container named as KServe names the storage
    initializer runs this image and the verifier's command. KServe's own initializer (the built-in
    default, or the chart's `default` container should a Helm upgrade restore its URIs) fails it."""
    command = "[" + ", ".join(_cel_string(part) for part in COMMAND) + "]"
    return (
        "!has(object.spec.initContainers) || object.spec.initContainers.all(c, "
        f"c.name != {_cel_string(CONTAINER_NAME)} || "
        f"(c.image == {_cel_string(image)} && has(c.command) && c.command == {command}))"
    )


def admission_policy(image: str, *, models_namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ValidatingAdmissionPolicy and its binding: the API server refuses any pod of the models
    namespace whose artifact would be fetched by anything but the verifier. It runs after every
    mutating webhook (KServe's pod mutator injects the init container), so it judges the pod as it
    would run. The patch of the chart's `default` container is live state Helm may restore; this
    refusal does not depend on it."""
    policy = {
        "metadata": {"name": ADMISSION_POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["pods"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": initializer_rule(image),
                    "message": "a model pod's artifact must be fetched and verified by the platform's "
                    f"storage initializer ({image}); KServe's own initializer does not check the "
                    "pinned digest",
                    "reason": "Forbidden",
                }
            ],
        },
    }
    binding = {
        "metadata": {"name": ADMISSION_POLICY},
        "spec": {
            "policyName": ADMISSION_POLICY,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": models_namespace}}
            },
        },
    }
    return policy, binding
