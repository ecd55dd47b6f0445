"""The live releases as the cluster applied them: the models namespace's InferenceServices and HTTPRoutes,
read through the Kubernetes API and turned into releases by the same rule as the gitops overlay.

What runs is what Argo CD applied, which can lag a merged promotion or differ from it after a manual
change: the monitor measures what serves traffic, and payloads name their version anyway.
"""

from __future__ import annotations

import re

from modelops.errors import InputError
from modelops.monitoring.kubernetes_api import ApiServer, list_objects
from modelops.monitoring.releases import LiveRelease, releases_of, state_from_objects

INFERENCE_SERVICES = "/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices"
HTTP_ROUTES = "/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes"
# A namespace name (RFC 1123 label): it goes into the request's path.
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def cluster_releases(server: ApiServer, *, model: str, namespace: str) -> list[LiveRelease]:
    if not _NAMESPACE.match(namespace):
        raise InputError(f"--namespace {namespace!r}: not a Kubernetes namespace name")
    where = f"namespace {namespace}"
    objects = list_objects(
        server, INFERENCE_SERVICES.format(namespace=namespace), what=f"InferenceServices of {where}"
    )
    objects += list_objects(server, HTTP_ROUTES.format(namespace=namespace), what=f"HTTPRoutes of {where}")
    return releases_of(state_from_objects(objects, model=model, where=where))
