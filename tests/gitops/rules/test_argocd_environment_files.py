"""The ApplicationSet's files generator names exactly the top-level environment files.

What it reads is what Argo CD deploys. Argo CD's default globbing lets `*` cross `/`, so a glob reads
files the gate never loads (environments/shared/registry.yaml, a prod.yaml moved into a subfolder);
a file it lists that is gone, or a file it does not list, splits what is deployed from what is judged.
"""

from __future__ import annotations

import copy

import pytest
from ruamel.yaml import YAML

from modelops.gitops.rules.argocd import AGREEMENT, BOOTSTRAP, check_bootstrap, listed_environment_files
from modelops.gitops.validation.validate import environments
from tests.conftest import REPO_ROOT

NAMES = ["dev", "local", "prod", "staging"]


def application_set(*paths: str, **entry_extra: str) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "models"},
        "spec": {"generators": [{"git": {"files": [{"path": p, **entry_extra} for p in paths]}}]},
    }


EXACT = [f"environments/{name}.yaml" for name in NAMES]


def test_the_exact_files_of_every_environment_agree():
    assert listed_environment_files(application_set(*EXACT), NAMES) == []


def test_a_glob_is_refused_even_where_it_would_match_every_environment():
    problems = listed_environment_files(application_set("environments/*.yaml"), NAMES)
    assert problems[0] == (
        BOOTSTRAP,
        "generators[0].git.files[0].path environments/*.yaml is a glob (Argo CD's reaches into "
        "subfolders): list each environments/<name>.yaml",
    )
    # and, the glob naming none of them, every environment file is unlisted
    assert [where for where, _ in problems[1:]] == EXACT


@pytest.mark.parametrize(
    "glob", ["environments/prod.y?ml", "environments/[p]rod.yaml", "environments/{prod}.yaml"]
)
def test_every_glob_character_is_refused(glob):
    problems = listed_environment_files(application_set(*EXACT, glob), NAMES)
    assert problems == [
        (
            BOOTSTRAP,
            f"generators[0].git.files[4].path {glob} is a glob (Argo CD's reaches into subfolders): "
            "list each environments/<name>.yaml",
        )
    ]


def test_an_environment_file_the_application_set_does_not_list_is_named():
    listed = [path for path in EXACT if path != "environments/staging.yaml"]
    assert listed_environment_files(application_set(*listed), NAMES) == [
        (
            "environments/staging.yaml",
            "the ApplicationSet does not list environments/staging.yaml: Argo CD would never deploy "
            "what the gate judges",
        )
    ]


def test_a_listed_file_with_no_environment_behind_it_is_named():
    """environments/prod.yaml deleted, moved or renamed while the ApplicationSet still reads it."""
    assert listed_environment_files(application_set(*EXACT), ["dev", "local", "staging"]) == [
        (
            "environments/prod.yaml",
            "the ApplicationSet lists environments/prod.yaml, but there is no such environment file",
        )
    ]


@pytest.mark.parametrize(
    "path",
    [
        "environments/x/prod.yaml",
        "environments/shared/registry.yaml",
        "./environments/prod.yaml",
        "prod.yaml",
    ],
)
def test_a_path_that_is_no_top_level_environment_file_is_refused(path):
    assert listed_environment_files(application_set(*EXACT, path), NAMES) == [
        (
            BOOTSTRAP,
            f"generators[0].git.files[4].path {path} is no environment file (environments/<name>.yaml)",
        )
    ]


def test_an_entry_carrying_more_than_its_path_is_refused():
    # Argo CD reads more keys than `path` (an exclusion, say): only a plain path says what is read.
    problems = listed_environment_files(application_set(*EXACT, exclude="true"), NAMES)
    assert problems == [
        (BOOTSTRAP, f"generators[0].git.files[{i}] must be just {{path: environments/<name>.yaml}}")
        for i in range(4)
    ] + [
        (
            path,
            f"the ApplicationSet does not list {path}: Argo CD would never deploy what the gate judges",
        )
        for path in EXACT
    ]


def test_a_directories_generator_is_refused():
    document = application_set(*EXACT)
    document["spec"]["generators"].append({"git": {"directories": [{"path": "gitops/environments/*"}]}})
    assert listed_environment_files(document, NAMES) == [
        (BOOTSTRAP, "generators[1].git.directories: list the environment files instead")
    ]


def bootstrap_documents() -> list[dict]:
    yaml = YAML(typ="safe")
    folder = REPO_ROOT / BOOTSTRAP
    return [yaml.load(path) for path in sorted(folder.rglob("*.yaml")) if path.name != "kustomization.yaml"]


def test_the_repositorys_application_set_lists_exactly_its_environment_files():
    envs = environments(REPO_ROOT)
    assert sorted(env.name for env in envs) == NAMES
    assert check_bootstrap(bootstrap_documents(), envs) == []


def test_check_bootstrap_reports_the_disagreement_under_the_agreement_rule():
    documents = bootstrap_documents()
    for document in documents:
        if document["kind"] == "ApplicationSet":
            document["spec"]["generators"][0]["git"]["files"] = [{"path": "environments/*.yaml"}]
    findings = check_bootstrap(copy.deepcopy(documents), environments(REPO_ROOT))
    assert findings and {(f.rule, f.object) for f in findings} == {(AGREEMENT, "ApplicationSet/models")}
    assert findings[0].message.startswith("generators[0].git.files[0].path environments/*.yaml is a glob")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda source: source.update(path="gitops/models/credit-risk/overlays/prod"),
            "template.spec.source.path must be 'gitops/environments/{{ .name }}', what the gate renders",
        ),
        (
            lambda source: source.update(helm={"valueFiles": ["values.yaml"]}),
            "template.spec.source.helm: Argo CD would build with helm, the gate renders with kustomize",
        ),
        (
            lambda source: source.update(directory={"recurse": True}),
            "template.spec.source.directory: Argo CD would build with directory, the gate renders with "
            "kustomize",
        ),
    ],
)
def test_the_applications_build_the_environment_folder_with_kustomize(change, problem):
    documents = bootstrap_documents()
    [application_set] = [d for d in documents if d["kind"] == "ApplicationSet"]
    change(application_set["spec"]["template"]["spec"]["source"])
    findings = check_bootstrap(documents, environments(REPO_ROOT))
    assert [(f.file, f.message) for f in findings] == [(BOOTSTRAP, problem)]
