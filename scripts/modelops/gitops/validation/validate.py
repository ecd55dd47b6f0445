"""`modelops validate`: render every environment once, then schemas, the platform's rules and checkov.

checkov starts first, so its start-up overlaps rendering, then scans each environment's rendered
text, as kustomize wrote it, in its own processes while kustomize renders the others and this
process checks schemas and the platform's rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops.config import Environment, load_environment
from modelops.config.loader import environments_dir, repository_folder
from modelops.errors import InputError
from modelops.gitops.checkov_scan import CheckovRun, ScanResult
from modelops.gitops.rendering.documents import Document, objects, syntax_problem
from modelops.gitops.rendering.render import render_each
from modelops.gitops.repository import layout
from modelops.gitops.rules.argocd import BOOTSTRAP, check_bootstrap
from modelops.gitops.rules.kustomize_paths import references_leaving_gitops
from modelops.gitops.rules.manifests import Finding, check_environment, check_release_files, source_file
from modelops.gitops.validation.schemas import schema_problems


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


def validate(root: Path, *, checkov: bool = True, grouped: bool = True) -> Validation:
    """Every finding on the tree at `root`. `grouped=False` renders each environment in one
    kustomize call however long its list (the benchmark measures both; see render_plan)."""
    repository_folder(root, layout.GITOPS)
    findings = symlinks(root) + references_leaving_gitops(root)
    envs = environments(root)
    folders = {env.name: root / layout.environment_dir(env.name) for env in envs}
    missing = [name for name, folder in folders.items() if not folder.is_dir()]
    findings += [Finding(str(layout.environment_dir(name)), "environment folder missing") for name in missing]
    # The bootstrap objects first: a handful, so their render is not queued behind 300 models.
    folders = {BOOTSTRAP: root / BOOTSTRAP} | {n: f for n, f in folders.items() if n not in missing}
    with ThreadPoolExecutor(1) as pool, ExitStack() as cleanup:
        starting = None
        if checkov:
            shown_as = Path(f"{root / layout.GITOPS} (rendered)")
            checks = root / "policies" / "checkov"
            starting = pool.submit(CheckovRun, checks_dir=checks, shown_as=shown_as, failures_only=True)
            cleanup.callback(_close_when_started, starting)
        rendered: dict[str, list[dict[str, Any]]] = {}
        for name, documents in _rendered(root, folders, grouped):
            rendered[name] = objects(documents)
            # checkov scans this folder's objects while kustomize renders the others.
            if starting is not None:
                starting.result().feed({_rendered_file(name): documents})
            if len(rendered) < len(folders):  # the last folder's schemas wait: see below
                findings += _schema_findings(name, rendered[name])
        # What checkov held back (objects a graph check may relate) goes now, before more checks here.
        scanning = pool.submit(starting.result().finish) if starting is not None else None
        if rendered:
            last = next(reversed(rendered))
            findings += _schema_findings(last, rendered[last])
        findings += _rule_findings(root, rendered, envs)
        if scanning is not None:
            findings += _checkov_findings(scanning.result(), rendered)
    return Validation(findings, sum(len(d) for d in rendered.values()), rendered)


def _rendered(root: Path, folders: dict[str, Path], grouped: bool) -> Iterator[tuple[str, list[Document]]]:
    try:
        yield from render_each(folders, grouped=grouped)
    except InputError as error:
        # kustomize names a file it cannot parse only as "unable to parse SM or JSON patch" and
        # the like, without YAML's own complaint: find the file and say that instead.
        broken = invalid_yaml_named_in(str(error), root / layout.GITOPS)
        if broken is None:
            raise
        folder = str(error).partition(": kustomize failed")[0]
        raise InputError(f"{broken}: kustomize could not render {folder}") from None


def invalid_yaml_named_in(message: str, folder: Path) -> str | None:
    """'<file>: not valid YAML (line N: problem)' for a file under `folder` that does not parse and
    that kustomize's `message` points at: it quotes the folder it was building and names the file."""
    for quoted in dict.fromkeys(re.findall(r"'(/[^']*)'", message)):  # the paths, in order, once
        building = Path(quoted) if Path(quoted).is_dir() else Path(quoted).parent
        if not building.resolve().is_relative_to(folder.resolve()):
            continue
        for path in sorted(building.glob("*.y*ml")):
            if not re.search(rf"(?<![\w.-]){re.escape(path.name)}(?![\w.-])", message):
                continue
            try:
                problem = syntax_problem(path.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                problem = "not UTF-8 text"
            if problem:
                return f"{path.resolve().relative_to(folder.resolve().parent)}: not valid YAML ({problem})"
    return None


def _close_when_started(starting: Future[CheckovRun]) -> None:
    if starting.exception() is None:
        starting.result().close()


def _schema_findings(name: str, documents: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for document in documents:
        where = source_file(name, document) if name != BOOTSTRAP else BOOTSTRAP
        findings += [
            Finding(where, f"{document.get('kind')}/{document.get('metadata', {}).get('name')}: {p}")
            for p in schema_problems(document)
        ]
    return findings


def _release_texts(root: Path, environment: str, documents: list[dict[str, Any]]) -> dict[str, str]:
    """The release files the rendered InferenceServices of `environment` name, as they are on disk."""
    paths = {source_file(environment, d) for d in documents if d.get("kind") == "InferenceService"}
    return {path: (root / path).read_text(encoding="utf-8") for path in paths if (root / path).is_file()}


def _rule_findings(
    root: Path, rendered: dict[str, list[dict[str, Any]]], envs: list[Environment]
) -> list[Finding]:
    findings: list[Finding] = []
    for env in envs:
        if env.name in rendered:
            documents = rendered[env.name]
            findings += check_environment(env.name, env.gitops.destination.namespace, documents)
            findings += check_release_files(env.name, documents, _release_texts(root, env.name, documents))
    findings += check_bootstrap(rendered[BOOTSTRAP], envs)
    return findings
