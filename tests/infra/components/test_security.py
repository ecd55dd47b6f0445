"""Namespaces: Pod Security labels, and a default-deny policy in every one the platform owns."""

from __future__ import annotations

import pytest

from modelops_infra.settings import REGISTRY_STACK, load_settings
from tests.infra.conftest import AWS_STACKS


def _namespaces(stack) -> dict[str, dict[str, str]]:
    return {
        n.inputs["metadata"]["name"]: n.inputs["metadata"]["labels"]
        for n in stack.of_type("kubernetes:core/v1:Namespace")
    }


def _denies(stack) -> set[str]:
    return {
        p.inputs["metadata"]["namespace"]
        for p in stack.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["name"] == "default-deny"
    }


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_model_namespace_is_restricted_and_every_owned_namespace_denies_by_default(stacks, repo_root, name):
    models = load_settings(name, root=repo_root).models_namespace
    namespaces = _namespaces(stacks[name])
    assert namespaces[models]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert _denies(stacks[name]) == set(namespaces)


def test_every_namespace_of_the_registry_cluster_denies_by_default_and_none_serves_models(every_stack):
    stack = every_stack[REGISTRY_STACK]
    namespaces = _namespaces(stack)
    assert _denies(stack) == set(namespaces)
    # Only a models namespace carries the label the models' Gateway admits routes from.
    assert not [name for name, labels in namespaces.items() if "modelops.io/serving" in labels]
