"""`modelops validate`: render every environment once, then schemas, then the platform's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops.config import Environment, load_environment
from modelops.config.loader import environments_dir
from modelops.gitops import layout
from modelops.gitops.bootstrap_checks import BOOTSTRAP, check_bootstrap
from modelops.gitops.manifest_checks import Finding, check_environment, source_file
from modelops.gitops.render import render_all
from modelops.gitops.schemas import schema_problems


@dataclass(frozen=True)
class Validation:
    findings: list[Finding]
    objects: int
    rendered: dict[str, list[dict[str, Any]]] = field(repr=False)

    @property
    def passed(self) -> bool:
        return not self.findings


def symlinks(root: Path) -> list[Finding]:
    # A link can pull files from outside the reviewed tree into what Argo CD applies.
    return [
        Finding(str(path.relative_to(root)), "symlinks are not allowed under gitops/")
        for path in sorted((root / layout.GITOPS).rglob("*"))
        if path.is_symlink()
    ]


def environments(root: Path) -> list[Environment]:
    return [load_environment(path.stem, root=root) for path in sorted(environments_dir(root).glob("*.yaml"))]


def validate(root: Path) -> Validation:
    findings = symlinks(root)
    envs = environments(root)
    folders = {env.name: root / layout.environment_dir(env.name) for env in envs}
    missing = [name for name, folder in folders.items() if not folder.is_dir()]
    findings += [Finding(str(layout.environment_dir(name)), "environment folder missing") for name in missing]
    folders = {name: folder for name, folder in folders.items() if name not in missing}
    folders[BOOTSTRAP] = root / BOOTSTRAP
    rendered = render_all(folders)
    for name, documents in rendered.items():
        for document in documents:
            where = source_file(name, document) if name != BOOTSTRAP else BOOTSTRAP
            findings += [
                Finding(where, f"{document.get('kind')}/{document.get('metadata', {}).get('name')}: {p}")
                for p in schema_problems(document)
            ]
    for env in envs:
        if env.name in rendered:
            findings += check_environment(env.name, env.gitops.destination.namespace, rendered[env.name])
    findings += check_bootstrap(rendered[BOOTSTRAP], envs)
    return Validation(findings, sum(len(d) for d in rendered.values()), rendered)
