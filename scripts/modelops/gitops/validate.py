"""`modelops validate`: render every environment once, then schemas, the platform's rules and checkov.

checkov runs as its own process over the rendered files while this process checks
schemas and rules, so the two overlap on a two-core machine.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelops.config import Environment, load_environment
from modelops.config.loader import environments_dir
from modelops.gitops import layout
from modelops.gitops.bootstrap_checks import BOOTSTRAP, check_bootstrap
from modelops.gitops.checkov_scan import ScanResult, scan
from modelops.gitops.manifest_checks import Finding, check_environment, source_file
from modelops.gitops.render import render_each
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


def _rendered_file(name: str) -> str:
    return f"{name.replace('/', '-')}.yaml"


def _write_rendered(rendered: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    for name, documents in rendered.items():
        (folder / _rendered_file(name)).write_text(yaml.safe_dump_all(documents, sort_keys=False))


def _checkov_findings(result: ScanResult, rendered: dict[str, list[dict[str, Any]]]) -> list[Finding]:
    """checkov reports on the rendered files; name the file a person edits instead."""
    by_file = {_rendered_file(name): name for name in rendered}
    findings = []
    for failure in result.failed:
        render = by_file.get(Path(failure.file).name)
        kind, _, name = failure.resource.partition(".")
        document = {"kind": kind, "metadata": {"name": name.rpartition(".")[2] or name}}
        where = source_file(render, document) if render and render != BOOTSTRAP else (render or failure.file)
        findings.append(Finding(where, f"{failure.check_id}: {failure.check_name} ({failure.resource})"))
    return findings


def validate(root: Path, *, checkov: bool = True) -> Validation:
    findings = symlinks(root)
    envs = environments(root)
    folders = {env.name: root / layout.environment_dir(env.name) for env in envs}
    missing = [name for name, folder in folders.items() if not folder.is_dir()]
    findings += [Finding(str(layout.environment_dir(name)), "environment folder missing") for name in missing]
    folders = {name: folder for name, folder in folders.items() if name not in missing}
    folders[BOOTSTRAP] = root / BOOTSTRAP
    rendered: dict[str, list[dict[str, Any]]] = {}
    # Schemas are checked here, in this process, while kustomize renders the other folders.
    for name, documents in render_each(folders):
        rendered[name] = documents
        findings += _schema_findings(name, documents)
    with tempfile.TemporaryDirectory(prefix="modelops-rendered-") as scratch, ThreadPoolExecutor(1) as pool:
        pending = None
        if checkov:
            _write_rendered(rendered, Path(scratch))
            pending = pool.submit(scan, Path(scratch), checks_dir=root / "policies" / "checkov")
        findings += _rule_findings(rendered, envs)
        if pending is not None:
            findings += _checkov_findings(pending.result(), rendered)
    return Validation(findings, sum(len(d) for d in rendered.values()), rendered)


def _schema_findings(name: str, documents: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for document in documents:
        where = source_file(name, document) if name != BOOTSTRAP else BOOTSTRAP
        findings += [
            Finding(where, f"{document.get('kind')}/{document.get('metadata', {}).get('name')}: {p}")
            for p in schema_problems(document)
        ]
    return findings


def _rule_findings(rendered: dict[str, list[dict[str, Any]]], envs: list[Environment]) -> list[Finding]:
    findings: list[Finding] = []
    for env in envs:
        if env.name in rendered:
            findings += check_environment(env.name, env.gitops.destination.namespace, rendered[env.name])
    findings += check_bootstrap(rendered[BOOTSTRAP], envs)
    return findings
