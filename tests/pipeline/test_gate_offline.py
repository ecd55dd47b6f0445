"""A pull request cannot make the gate's runner fetch anything: each test is a kustomization an
author could commit to have kustomize reach the network from inside the VPC, gated on a real git
repository with real kustomize. The remote entries point at a real HTTP server on loopback (which
Go's HTTP client reaches whatever proxy is set), and the server must see no request: the gate
refuses the tree before anything renders it, naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_runner import invoke
from tests.http_recorder import recording_server

pytestmark = pytest.mark.slow

DEV = "gitops/environments/dev/kustomization.yaml"
HEADER = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
DEV_OVERLAY = "  - ../../models/credit-risk/overlays/dev\n"


def commit_on_branch(
    repo, branch: str, files: dict[str, str | bytes], links: dict[str, str] | None = None
) -> None:
    repo.git("checkout", "--quiet", "-b", branch)
    for path, body in files.items():
        (repo.root / path).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            (repo.root / path).write_bytes(body)
        else:
            (repo.root / path).write_text(body)
    for path, target in (links or {}).items():
        (repo.root / path).parent.mkdir(parents=True, exist_ok=True)
        (repo.root / path).unlink(missing_ok=True)
        os.symlink(target, repo.root / path)
    repo.git("add", "-A")
    repo.git("commit", "--quiet", "-m", f"Change for {branch}")
    repo.git("checkout", "--quiet", "main")


def gate(repo, branch: str, out: Path, *, base: str = "main"):
    repo.git("checkout", "--quiet", branch)
    try:
        return invoke("gate", "--base", base, "--head", branch, "--out", out, "--json", "--no-html")
    finally:
        repo.git("checkout", "--quiet", "main")


def refused(result) -> list[tuple[str, str]]:
    assert result.exit_code == 1, result.output
    return [(f["file"], f["rule"]) for f in json.loads(result.stdout)["validation"]["findings"]]


def attacks(url: str, repository: str) -> dict[str, tuple[dict[str, str | bytes], dict[str, str], str]]:
    """name -> (files, links, the file the gate must name)."""
    remote = f"{HEADER}resources:\n{DEV_OVERLAY}  - {url}\n"
    return {
        # kustomize's Go YAML reader takes UTF-16 with a byte-order mark; the check used to skip it.
        "utf-16": ({DEV: remote.encode("utf-16")}, {}, DEV),
        "git-clone": ({DEV: f"{HEADER}resources:\n{DEV_OVERLAY}  - {repository}\n"}, {}, DEV),
        # Go matches field names ignoring case: `Resources:` is `resources:` to kustomize.
        "field-case": ({DEV: f"{HEADER}Resources:\n{DEV_OVERLAY}  - {url}\n"}, {}, DEV),
        # A plugin configuration's own `path` is fetched: the check does not read inside it.
        "transformer": (
            {
                DEV: f"{HEADER}resources:\n{DEV_OVERLAY}transformers:\n  - remote-patch.yaml\n",
                "gitops/environments/dev/remote-patch.yaml": "apiVersion: builtin\nkind: PatchTransformer\n"
                f"metadata:\n  name: p\npath: {url}\ntarget:\n  kind: InferenceService\n",
            },
            {},
            DEV,
        ),
        # The kustomization is a link to a file that names the URL (kustomize 5.5 does not read a
        # linked kustomization file; a later one might).
        "linked-file": (
            {"gitops/notes/remote.yaml": remote},
            {DEV: "../../notes/remote.yaml"},
            DEV,
        ),
        # A listed folder is a link to a folder beyond gitops/ (in the tree the gate extracts) whose
        # kustomization names the URL: the check read gitops/ alone and followed no link.
        "linked-folder": (
            {
                "environments/remote/kustomization.yaml": f"{HEADER}resources:\n  - {url}\n",
                DEV: f"{HEADER}resources:\n{DEV_OVERLAY}  - extra\n",
            },
            {"gitops/environments/dev/extra": "../../../environments/remote"},
            "gitops/environments/dev/extra",
        ),
    }


NAMES = list(attacks("u", "r"))


@pytest.mark.parametrize("attack", NAMES)
def test_a_kustomization_reaching_the_network_is_refused_before_rendering(gitops_repo, tmp_path, attack):
    with recording_server() as server:
        files, links, named = attacks(server.url("/remote.yaml"), f"git::{server.url('/org/repo')}")[attack]
        commit_on_branch(gitops_repo, attack, files, links)
        result = gate(gitops_repo, attack, tmp_path)
    assert (server.requests, server.connections) == ([], [])
    findings = refused(result)
    assert named in [file for file, _ in findings]
    # A file beside an environment's kustomization is also one Argo CD would read (MODELOPS_ARGOCD_SOURCES).
    assert {rule for _, rule in findings} <= {
        "MODELOPS_KUSTOMIZE_PATHS",
        "MODELOPS_SYMLINKS",
        "MODELOPS_ARGOCD_SOURCES",
    }


def test_a_base_the_gate_would_render_is_checked_too(gitops_repo, tmp_path):
    """A pull request may name any branch as its base: the base's renders are the gate's too."""
    with recording_server() as server:
        files, links, _ = attacks(server.url("/remote.yaml"), "")["linked-file"]
        commit_on_branch(gitops_repo, "poisoned-base", files, links)
        gitops_repo.git("checkout", "--quiet", "-b", "innocent", "poisoned-base")
        (gitops_repo.root / "gitops/notes/readme.txt").write_text("notes\n")
        gitops_repo.git("add", "-A")
        gitops_repo.git("commit", "--quiet", "-m", "Notes")
        gitops_repo.git("checkout", "--quiet", "main")
        # The head undoes the link, so only the base holds it.
        gitops_repo.git("checkout", "--quiet", "innocent")
        (gitops_repo.root / DEV).unlink()
        gitops_repo.git("checkout", "--quiet", "main", "--", DEV)
        gitops_repo.git("commit", "--quiet", "-am", "Restore dev")
        gitops_repo.git("checkout", "--quiet", "main")
        result = gate(gitops_repo, "innocent", tmp_path, base="poisoned-base")
    assert (server.requests, server.connections) == ([], [])
    assert result.exit_code == 2
    assert f"{DEV}: symlinks are not allowed under gitops/" in " ".join(result.output.split())
