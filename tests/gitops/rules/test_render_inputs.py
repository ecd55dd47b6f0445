"""Nothing renders a tree holding a link under gitops/ or a kustomization reading beyond it: the
check comes first, and `validate` stops at its findings (a render would be a request to the real
HTTP server on loopback, which Go's HTTP client reaches whatever proxy is set)."""

from __future__ import annotations

import os

from modelops.gitops.rules.render_inputs import before_rendering, symlinks
from modelops.gitops.validation.validate import validate
from tests.http_recorder import recording_server

DEV = "gitops/environments/dev/kustomization.yaml"


def test_every_link_under_gitops_is_a_finding(tmp_path):
    (tmp_path / "gitops/models/m").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.symlink("../../elsewhere", tmp_path / "gitops/models/linked-folder")
    os.symlink("/etc/hostname", tmp_path / "gitops/models/m/kustomization.yaml")
    assert [(f.file, f.message, f.rule) for f in symlinks(tmp_path)] == [
        ("gitops/models/linked-folder", "symlinks are not allowed under gitops/", "MODELOPS_SYMLINKS"),
        ("gitops/models/m/kustomization.yaml", "symlinks are not allowed under gitops/", "MODELOPS_SYMLINKS"),
    ]


def test_gitops_itself_as_a_link_is_a_finding(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink("elsewhere", tmp_path / "gitops")
    assert [f.file for f in before_rendering(tmp_path)] == ["gitops"]


def test_a_link_stops_validation_before_anything_renders(gitops_repo):
    os.symlink("inferenceservice.yaml", gitops_repo.root / "gitops/models/credit-risk/base/notes.yaml")
    validation = validate(gitops_repo.root)
    assert [f.file for f in validation.findings] == ["gitops/models/credit-risk/base/notes.yaml"]
    assert (validation.objects, validation.rendered) == (0, {})


def test_a_kustomization_the_check_cannot_read_is_not_rendered_by_validation(gitops_repo):
    path = gitops_repo.root / DEV
    with recording_server() as server:
        text = path.read_text() + f"  - {server.url('/remote.yaml')}\n"
        path.write_bytes(text.encode("utf-16"))  # kustomize reads UTF-16 and would fetch it
        validation = validate(gitops_repo.root)
    assert (server.requests, server.connections) == ([], [])
    assert [(f.file, f.message) for f in validation.findings] == [
        (DEV, "is not UTF-8 text, which this check reads")
    ]
    assert validation.objects == 0


def test_an_environment_folder_holds_its_kustomization_alone(gitops_repo):
    # Argo CD merges .argocd-source*.yaml into the source it builds, and a *Chart.yaml makes the folder
    # a Helm chart: neither is read by kustomize, so the gate would judge something else than is deployed.
    prod, staging = (
        gitops_repo.root / "gitops/environments/prod",
        gitops_repo.root / "gitops/environments/staging",
    )
    (prod / ".argocd-source.yaml").write_text("kustomize:\n  images: [example.com/unjudged:1]\n")
    (staging / "zz-Chart.yaml").write_text("apiVersion: v2\nname: unjudged\nversion: 1.0.0\n")
    (staging / "templates").mkdir()
    validation = validate(gitops_repo.root)
    assert [(f.file, f.rule) for f in validation.findings] == [
        ("gitops/environments/prod/.argocd-source.yaml", "MODELOPS_ARGOCD_SOURCES"),
        ("gitops/environments/staging/templates", "MODELOPS_ARGOCD_SOURCES"),
        ("gitops/environments/staging/zz-Chart.yaml", "MODELOPS_ARGOCD_SOURCES"),
    ]
    assert validation.findings[0].message.startswith(
        "Argo CD builds gitops/environments/prod: it holds kustomization.yaml alone"
    )
    assert (validation.objects, validation.rendered) == (0, {})


def test_an_argo_cd_source_override_is_refused_anywhere_under_gitops(gitops_repo):
    override = gitops_repo.root / "gitops/models/credit-risk/overlays/prod/.argocd-source-models-prod.yaml"
    override.write_text("kustomize:\n  namePrefix: unjudged-\n")
    assert [(f.file, f.message) for f in before_rendering(gitops_repo.root)] == [
        (
            "gitops/models/credit-risk/overlays/prod/.argocd-source-models-prod.yaml",
            "an Argo CD source override: what is deployed is what gitops/ renders, unaltered",
        )
    ]
