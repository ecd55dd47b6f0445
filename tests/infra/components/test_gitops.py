"""Argo CD is bootstrapped with whatever gitops/bootstrap/ holds, narrowed to the stack's environment."""

from __future__ import annotations

import pytest

from modelops_infra.components.gitops import bootstrap_manifests, for_this_cluster
from tests.infra.conftest import FIXTURES
from tests.infra.harness import build_stack


@pytest.mark.parametrize("folder", ["absent", "empty", "fixture"])
def test_gitops_applies_whatever_the_bootstrap_folder_holds(repo_root, tmp_path, folder):
    bootstrap = {"absent": tmp_path / "missing", "empty": tmp_path, "fixture": FIXTURES / "bootstrap"}[folder]
    stack = build_stack("local", root=repo_root, bootstrap_dir=bootstrap)
    argo = {
        (r.type.rsplit(":", 1)[-1], r.inputs["metadata"]["name"])
        for r in stack.resources
        if ":argoproj.io/" in r.type
    }
    expected = {
        "absent": set(),
        "empty": set(),
        "fixture": {("AppProject", "models"), ("ApplicationSet", "models")},
    }
    assert argo == expected[folder]


def test_the_real_bootstrap_folder_applies_every_project_and_the_application_set(repo_root):
    kinds = sorted(
        (document["kind"], document["metadata"]["name"])
        for _, document in bootstrap_manifests(repo_root / "gitops" / "bootstrap")
    )
    projects = [name for kind, name in kinds if kind == "AppProject"]
    assert projects == ["models-dev", "models-local", "models-prod", "models-staging"]  # in projects/
    assert ("ApplicationSet", "models") in kinds


def test_each_cluster_generates_only_its_own_environment(repo_root):
    application_set = next(
        document
        for _, document in bootstrap_manifests(repo_root / "gitops" / "bootstrap")
        if document["kind"] == "ApplicationSet"
    )
    narrowed = for_this_cluster(application_set, "prod")
    files = [g["git"]["files"] for g in narrowed["spec"]["generators"]]
    assert files == [[{"path": "environments/prod.yaml"}]]
    assert application_set["spec"]["generators"][0]["git"]["files"] == [
        {"path": f"environments/{name}.yaml"} for name in ("local", "dev", "staging", "prod")
    ]


@pytest.mark.parametrize("name", ["local", "prod"])
def test_argo_cds_git_file_globs_do_not_reach_into_subfolders(repo_root, name):
    """Defence in depth behind the listed files: with Argo CD's default globbing, `*` crosses `/`."""
    stack = build_stack(name, root=repo_root, bootstrap_dir=repo_root / "gitops" / "bootstrap")
    [argocd] = [
        r for r in stack.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"].endswith("argo-cd")
    ]
    params = argocd.inputs["values"]["configs"]["params"]
    assert params["applicationsetcontroller.enable.new.git.file.globbing"] == "true"
