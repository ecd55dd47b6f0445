"""The platform's one serving runtime: a ClusterServingRuntime running the MLServer image built from
infra/images/mlserver, which every InferenceService names (rule CKV_MODELOPS_18).

KServe's own `kserve-mlserver` runtime points at whatever MLServer image the KServe release chose,
with the model's dependencies installed at no pinned version. This one runs the image whose lock
holds MLServer and the versions `modelops register` records, and sets its environment from
`modelops.serving.contract`, the same variables the tests and the latency gate start MLServer with.
"""

from __future__ import annotations

from typing import Any

from modelops.serving import contract
from modelops_infra.manifests.workloads import RUN_AS_USER


def cluster_serving_runtime(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": contract.RUNTIME},
        "spec": {
            "annotations": {
                "prometheus.kserve.io/port": str(contract.METRICS_PORT),
                "prometheus.kserve.io/path": "/metrics",
            },
            # Only named, never picked by KServe for an InferenceService that names no runtime.
            "supportedModelFormats": [{"name": "mlflow", "version": "2", "autoSelect": False}],
            "protocolVersions": ["v2"],
            "containers": [
                {
                    "name": "kserve-container",
                    "image": image,
                    "env": [{"name": name, "value": value} for name, value in contract.RUNTIME_ENV.items()],
                    "ports": [{"containerPort": contract.HTTP_PORT, "protocol": "TCP"}],
                    # MLServer writes its metrics' multiprocess files under the working directory:
                    # no read-only root filesystem here, the rest of `restricted` applies.
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "privileged": False,
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS_USER,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                }
            ],
        },
    }
