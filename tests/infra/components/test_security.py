"""Namespaces: Pod Security labels, and a default-deny policy in every one the platform owns."""

from __future__ import annotations

import pytest

from modelops_infra.settings import load_settings
from tests.infra.conftest import AWS_STACKS


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_model_namespace_is_restricted_and_every_owned_namespace_denies_by_default(stacks, repo_root, name):
    models = load_settings(name, root=repo_root).models_namespace
    namespaces = {
        n.inputs["metadata"]["name"]: n.inputs["metadata"]["labels"]
        for n in stacks[name].of_type("kubernetes:core/v1:Namespace")
    }
    assert namespaces[models]["pod-security.kubernetes.io/enforce"] == "restricted"
    denies = {
        p.inputs["metadata"]["namespace"]
        for p in stacks[name].of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["name"] == "default-deny"
    }
    assert denies == set(namespaces)
