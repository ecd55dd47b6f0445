"""What a kustomization under gitops/ may read: files under gitops/, nothing else.

Argo CD renders the whole repository checkout, so a kustomization could pull a component from
another top-level folder (or a URL) that no gate looks at and no owner reviews: a later change
there would change what a cluster serves with no change under gitops/. Every path-bearing field
of every kustomization is checked here; rendering in the pull-request gate then sees only gitops/,
so a field this list misses fails to render rather than slip through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from modelops.gitops.rendering import render_plan
from modelops.gitops.rules.finding import Finding

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LEAVING_GITOPS = "MODELOPS_KUSTOMIZE_PATHS"

# Fields whose entries are paths (or, for the first three, URLs kustomize fetches).
PATH_LISTS = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "patchesStrategicMerge",
)
# Fields holding a list of objects, each with a `path`.
PATH_ENTRIES = ("patches", "patchesJson6902", "replacements")
# Generators read files and env files: "file", "key=file".
GENERATORS = ("configMapGenerator", "secretGenerator")
# Fields that render something from outside the repository's files at all.
REFUSED_FIELDS = {"helmCharts": "renders a Helm chart", "helmChartInflationGenerator": "renders a Helm chart"}


def referenced_paths(kustomization: Any) -> Iterator[str]:
    """Every path or URL a kustomization names."""
    if not isinstance(kustomization, dict):
        return
    for field in PATH_LISTS:
        for entry in kustomization.get(field) or []:
            if isinstance(entry, str):
                yield entry
    for field in PATH_ENTRIES:
        for entry in kustomization.get(field) or []:
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                yield entry["path"]
    for field in GENERATORS:
        for generator in kustomization.get(field) or []:
            if not isinstance(generator, dict):
                continue
            for key in ("files", "envs"):
                for entry in generator.get(key) or []:
                    if isinstance(entry, str):
                        yield entry.split("=", 1)[-1]
            if isinstance(generator.get("env"), str):
                yield generator["env"]
    openapi = kustomization.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield openapi["path"]


def reference_problem(text: str, *, folder: Path, gitops: Path) -> str | None:
    """Why `text`, named by a kustomization in `folder`, reaches beyond gitops/ (None: it does not)."""
    if "://" in text or text.startswith(("github.com/", "git@", "gitlab.com/", "bitbucket.org/")):
        return f"names a remote resource ({text})"
    target = (folder / text).resolve()
    if not target.is_relative_to(gitops.resolve()):
        return f"reads {text}, outside gitops/"
    return None


def references_leaving_gitops(root: Path) -> list[Finding]:
    """A finding for each kustomization under `root`/gitops that reads beyond it."""
    gitops = root / "gitops"
    findings = []
    for path in sorted(gitops.rglob("*")):
        if path.name not in render_plan.KUSTOMIZATION_FILES or not path.is_file() or path.is_symlink():
            continue
        try:
            kustomization = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        except (OSError, ValueError, yaml.YAMLError):
            continue  # rendering reports it
        where = str(path.relative_to(root))
        if isinstance(kustomization, dict):
            findings += [
                Finding(where, f"{field}: {why}; a model is served from gitops/ alone", rule=LEAVING_GITOPS)
                for field, why in REFUSED_FIELDS.items()
                if field in kustomization
            ]
        for text in referenced_paths(kustomization):
            if problem := reference_problem(text, folder=path.parent, gitops=gitops):
                findings.append(Finding(where, problem, rule=LEAVING_GITOPS))
    return findings
