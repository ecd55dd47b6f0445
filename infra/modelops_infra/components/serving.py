"""The Gateway the model HTTPRoutes attach to (on ingress.py's Envoy Gateway), and KServe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from modelops_infra import layout as L
from modelops_infra.components.helm import release
from modelops_infra.components.ingress import GATEWAY_CLASS, Ingress
from modelops_infra.manifests.serving_runtime import cluster_serving_runtime
from modelops_infra.manifests.storage_initializer import (
    admission_policy,
    chart_default_claims_nothing,
    cluster_storage_container,
)
from modelops_infra.manifests.workloads import container_security_context
from modelops_infra.versions import KSERVE, KSERVE_CRD


@dataclass(frozen=True)
class ServingArgs:
    models_namespace: str
    runtime_image: str  # the MLServer image built from infra/images/mlserver (versions.serving_runtime_image)
    # The modelops image (versions.modelops_image): its verifier fills /mnt/models in every predictor pod.
    initializer_image: str


def storage_initializer_security_context() -> dict[str, object]:
    """KServe injects the storage initializer into every predictor pod; without this profile a
    `restricted` namespace rejects the pod before the model server ever starts."""
    return container_security_context()


def kserve_values() -> dict[str, object]:
    return {
        "kserve": {
            "controller": {
                "deploymentMode": "RawDeployment",
                # The gitops folder owns the (weighted) HTTPRoutes; KServe must not add its own.
                "gateway": {"disableIngressCreation": True},
            },
            "storage": {"containerSecurityContext": storage_initializer_security_context()},
        }
    }


def _declare(name: str, manifest: dict[str, Any], *, opts: pulumi.ResourceOptions) -> None:
    """A KServe object from its pure builder's manifest."""
    k8s.apiextensions.CustomResource(
        name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        spec=manifest["spec"],
        opts=opts,
    )


class Serving(pulumi.ComponentResource):
    gateway_name: str
    gateway_namespace: str

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Serving", name, None, opts)
        # Named as before it moved into Ingress, so the models' objects keep their names.
        ingress = Ingress(name, opts=pulumi.ResourceOptions(parent=self))
        cert_manager, envoy, gateway_class = (
            ingress.cert_manager,
            ingress.envoy_gateway,
            ingress.gateway_class,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version="gateway.networking.k8s.io/v1",
            kind="Gateway",
            metadata={"name": L.GATEWAY_NAME, "namespace": L.GATEWAY_NAMESPACE},
            spec={
                "gatewayClassName": GATEWAY_CLASS,
                "listeners": [
                    {
                        "name": "http",
                        "protocol": "HTTP",
                        "port": 80,
                        # Only namespaces labelled as serving namespaces may attach routes.
                        "allowedRoutes": {
                            "namespaces": {
                                "from": "Selector",
                                "selector": {"matchLabels": {L.SERVING_NAMESPACE_LABEL: "true"}},
                            },
                            "kinds": [{"kind": "HTTPRoute"}],
                        },
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[envoy, gateway_class]),
        )
        crds = release(
            f"{name}-kserve-crd",
            KSERVE_CRD,
            release_name="kserve-crd",
            namespace=L.KSERVE_NAMESPACE,
            values={},
            opts=pulumi.ResourceOptions(parent=self),
        )
        kserve = release(
            f"{name}-kserve",
            KSERVE,
            release_name="kserve",
            namespace=L.KSERVE_NAMESPACE,
            values=kserve_values(),
            # KServe's webhooks take their certificates from cert-manager.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, cert_manager]),
        )
        after_kserve = pulumi.ResourceOptions(parent=self, depends_on=[crds, kserve])
        _declare(f"{name}-runtime", cluster_serving_runtime(args.runtime_image), opts=after_kserve)
        # Only artifacts whose manifest digest the release pins reach the model server.
        initializer = cluster_storage_container(args.initializer_image)
        _declare(f"{name}-storage-initializer", initializer, opts=after_kserve)
        # The chart's own container would otherwise claim the same URIs, and KServe takes either.
        chart_default = chart_default_claims_nothing()
        k8s.apiextensions.CustomResourcePatch(
            f"{name}-chart-storage-initializer",
            api_version=chart_default["apiVersion"],
            kind=chart_default["kind"],
            metadata=chart_default["metadata"],
            spec=chart_default["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[kserve]),
        )
        # Whatever KServe's cache or a Helm upgrade does to the containers above, the API server
        # admits no model pod whose artifact the verifier does not fetch.
        policy, binding = admission_policy(args.initializer_image, models_namespace=args.models_namespace)
        admission = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-verified-initializer",
            metadata=policy["metadata"],
            spec=policy["spec"],
            opts=after_kserve,
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-verified-initializer",
            metadata=binding["metadata"],
            spec=binding["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[admission]),
        )
        self.gateway_name = L.GATEWAY_NAME
        self.gateway_namespace = L.GATEWAY_NAMESPACE
        self.register_outputs({"gateway": f"{self.gateway_namespace}/{self.gateway_name}"})
