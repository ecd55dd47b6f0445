"""What must hold of a tree before anything renders it: kustomize may read only what was reviewed.

Every place that renders a tree a pull request controls (the gate, `modelops validate`, a kept
validation's reuse) asks `before_rendering` first and renders nothing when it answers: a link or
a reference beyond gitops/ is refused before kustomize follows it, not named after it has.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from modelops.gitops.repository import layout
from modelops.gitops.rules.argocd_sources import argocd_only_inputs
from modelops.gitops.rules.finding import Finding
from modelops.gitops.rules.kustomize_paths import references_leaving_gitops

SYMLINKS = "MODELOPS_SYMLINKS"


def links_under(folder: Path) -> Iterator[Path]:
    """Every symbolic link under `folder` (files and folders), in a stable order; none is followed."""
    for current, folders, files in os.walk(folder, followlinks=False):
        folders.sort()
        for name in sorted(files + folders):
            if (Path(current) / name).is_symlink():
                yield Path(current) / name


def symlinks(root: Path) -> list[Finding]:
    # A link can pull files from outside the reviewed tree into what Argo CD applies.
    gitops = root / layout.GITOPS
    links = [gitops] if gitops.is_symlink() else list(links_under(gitops))
    return [
        Finding(str(path.relative_to(root)), "symlinks are not allowed under gitops/", rule=SYMLINKS)
        for path in links
    ]


def before_rendering(root: Path) -> list[Finding]:
    """Why the tree at `root` must not be rendered: links under gitops/, kustomizations reading
    beyond it or unreadable to the check, and files Argo CD would read where kustomize does not.
    Empty: kustomize reads only files under gitops/, and Argo CD deploys what it renders."""
    return symlinks(root) + references_leaving_gitops(root) + argocd_only_inputs(root)
