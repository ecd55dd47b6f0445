"""`modelops validate`: render every environment once, then the schemas and the platform's rules.

checkov is not run here: it is a tool for the `policy` workflow (policies/checkov/), where its
built-in checks and the same rules, wrapped, scan the rendered environments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops.config import Environment, load_environment
from modelops.config.loader import environments_dir, repository_folder
from modelops.errors import InputError
from modelops.gitops.rendering.documents import Document, objects, syntax_problem
from modelops.gitops.rendering.render import render_each
from modelops.gitops.repository import layout
from modelops.gitops.rules.argocd import BOOTSTRAP, check_bootstrap
from modelops.gitops.rules.catalogue import object_problems
from modelops.gitops.rules.environment import check_environment, source_file
from modelops.gitops.rules.finding import Finding
from modelops.gitops.rules.reading import subject
from modelops.gitops.rules.release_files import check_release_files
from modelops.gitops.rules.render_inputs import before_rendering
from modelops.gitops.rules.rollout_plan import check_rollout_plans
from modelops.gitops.validation.schemas import schema_problems
from modelops.reports.files import write_text_atomic

SCHEMA = "SCHEMA"


@dataclass(frozen=True)
class Validation:
    findings: list[Finding]
    objects: int
    rendered: dict[str, list[dict[str, Any]]] = field(repr=False)

    @property
    def passed(self) -> bool:
        return not self.findings


def environments(root: Path) -> list[Environment]:
    return [load_environment(path.stem, root=root) for path in sorted(environments_dir(root).glob("*.yaml"))]


def validate(root: Path, *, grouped: bool = True, render_to: Path | None = None) -> Validation:
    """Every finding on the tree at `root`. `grouped=False` renders each environment in one
    kustomize call however long its list (the benchmark measures both; see render_plan).
    `render_to` keeps each render as a file there (what the policy workflow hands to checkov)."""
    repository_folder(root, layout.GITOPS)
    refused = before_rendering(root)
    if refused:  # kustomize would follow them: nothing is rendered
        return Validation(refused, 0, rendered={})
    findings: list[Finding] = []
    envs = environments(root)
    folders = {env.name: root / layout.environment_dir(env.name) for env in envs}
    missing = [name for name, folder in folders.items() if not folder.is_dir()]
    findings += [Finding(str(layout.environment_dir(name)), "environment folder missing") for name in missing]
    folders = {BOOTSTRAP: root / BOOTSTRAP} | {n: f for n, f in folders.items() if n not in missing}
    rendered: dict[str, list[dict[str, Any]]] = {}
    for name, documents in _rendered(root, folders, grouped):
        rendered[name] = objects(documents)
        findings += _schema_findings(name, rendered[name])
        if render_to is not None:
            write_text_atomic(render_to / rendered_file(name), "".join(d.text for d in documents))
    findings += _rule_findings(root, rendered, envs)
    return Validation(findings, sum(len(d) for d in rendered.values()), rendered)


def rendered_file(name: str) -> str:
    """The file a render is kept in: gitops/bootstrap -> gitops-bootstrap.yaml, dev -> dev.yaml."""
    return f"{name.replace('/', '-')}.yaml"


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


def _schema_findings(name: str, documents: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for document in documents:
        where = source_file(name, document) if name != BOOTSTRAP else BOOTSTRAP
        findings += [
            Finding(where, problem, object=subject(document), rule=SCHEMA)
            for problem in schema_problems(document)
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
            findings += check_rollout_plans(env.name, env.gitops.rollout, documents)
    bootstrap = rendered[BOOTSTRAP]
    findings += [
        Finding(BOOTSTRAP, problem, object=subject(document), rule=rule.id)
        for document in bootstrap
        for rule, problem in object_problems(document)
    ]
    findings += check_bootstrap(bootstrap, envs)
    return findings
