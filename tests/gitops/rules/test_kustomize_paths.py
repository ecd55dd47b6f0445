"""Pure-ish: which kustomization entries reach beyond gitops/ (on files in a temp folder)."""

from __future__ import annotations

import pytest

from modelops.gitops.rules.kustomize_paths import referenced_paths, references_leaving_gitops

KUSTOMIZATION = {
    "resources": ["../../base", "extra.yaml"],
    "components": ["../../components/candidate"],
    "patches": [{"path": "release.yaml"}, {"patch": "- op: add"}],
    "configMapGenerator": [{"name": "c", "files": ["key=settings.json"], "envs": ["app.env"]}],
    "openapi": {"path": "schema.json"},
}


def test_every_path_bearing_field_is_read():
    assert list(referenced_paths(KUSTOMIZATION)) == [
        "../../base",
        "extra.yaml",
        "../../components/candidate",
        "release.yaml",
        "settings.json",
        "app.env",
        "schema.json",
    ]


def write(root, path: str, text: str) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("resources:\n  - ../../../deploy\n", "reads ../../../deploy, outside gitops/"),
        ("components:\n  - /etc/modelops\n", "reads /etc/modelops, outside gitops/"),
        ("patches:\n  - path: ../../../../x.yaml\n", "reads ../../../../x.yaml, outside gitops/"),
        (
            "resources:\n  - https://example.org/base.yaml\n",
            "names a remote resource (https://example.org/base.yaml)",
        ),
        (
            "resources:\n  - github.com/org/repo//base?ref=v1\n",
            "names a remote resource (github.com/org/repo//base?ref=v1)",
        ),
        (
            "configMapGenerator:\n  - name: c\n    files: [k=../../../secret.txt]\n",
            "reads ../../../secret.txt, outside gitops/",
        ),
        (
            "helmCharts:\n  - name: x\n",
            "helmCharts: renders a Helm chart; a model is served from gitops/ alone",
        ),
    ],
)
def test_a_reference_beyond_gitops_is_a_finding(tmp_path, entry, problem):
    write(tmp_path, "gitops/environments/dev/kustomization.yaml", entry)
    [finding] = references_leaving_gitops(tmp_path)
    assert (finding.file, finding.message) == ("gitops/environments/dev/kustomization.yaml", problem)


def test_references_within_gitops_and_urls_in_inline_patches_are_fine(tmp_path):
    write(
        tmp_path,
        "gitops/models/m/overlays/dev/kustomization.yaml",
        "resources:\n  - ../../base\npatches:\n  - patch: |-\n      - op: add\n"
        "        path: /metadata/annotations/docs\n"
        "        value: https://example.org\n",
    )
    assert references_leaving_gitops(tmp_path) == []


def test_the_repositorys_own_tree_reads_nothing_beyond_gitops(repo_root):
    assert references_leaving_gitops(repo_root) == []
