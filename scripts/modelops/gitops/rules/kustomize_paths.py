"""What a kustomization under gitops/ may read: files under gitops/ that exist, nothing else.

Argo CD renders the whole repository checkout, so a kustomization could pull a component from
another top-level folder (or a URL) that no gate looks at and no owner reviews: a later change
there would change what a cluster serves with no change under gitops/. And the pull-request gate
renders on a runner inside the network: an entry kustomize fetches is a request from there.

The check is an allow-list, because kustomize is generous in what it reads as a remote: an entry
that is no existing local file (and some that are: `github.com/org/repo`, `git@host/org/repo`) is
parsed as a repository URL and cloned; any loaded file may be an http(s) URL; field names match
ignoring case (`Resources:`, even a long s for the s); a UTF-16 file parses. So every field a kustomization
holds must be one named here, every entry of a path-bearing field must be a plain relative path to
something present under gitops/, and a kustomization this check cannot read is itself a finding.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from modelops import strict_yaml
from modelops.gitops.rendering import render_plan
from modelops.gitops.rules.finding import Finding

LEAVING_GITOPS = "MODELOPS_KUSTOMIZE_PATHS"

# Fields whose entries are paths: to a file or a kustomization folder, a folder, or a file.
EITHER, FOLDER, FILE = "file or folder", "folder", "file"
PATH_LISTS = {
    "resources": EITHER,
    "bases": EITHER,
    "components": FOLDER,
    "crds": FILE,
    "configurations": FILE,
    "patchesStrategicMerge": FILE,  # inline patches are refused with the rest: a path or nothing
}
# Fields holding a list of objects, each with a `path` to a file (or an inline body), and the keys
# such an object may have: kustomize would read `Path:` as `path`, so any other key is refused.
PATH_ENTRIES = {
    "patches": {"path", "patch", "target", "options"},
    "patchesJson6902": {"path", "patch", "target"},
    "replacements": {"path", "source", "targets"},
}
# Generators read files ("file", "key=file") and env files.
GENERATORS = ("configMapGenerator", "secretGenerator")
GENERATOR_KEYS = {"name", "namespace", "behavior", "files", "envs", "env", "literals", "options", "type"}
OPENAPI_KEYS = {"path", "version"}
# Fields kustomize reads nothing from disk or network for.
PLAIN_FIELDS = {
    "apiVersion", "kind", "metadata", "namePrefix", "nameSuffix", "namespace", "commonLabels", "labels",
    "commonAnnotations", "images", "replicas", "vars", "sortOptions", "generatorOptions", "buildMetadata",
    "openapi",
}  # fmt: skip
# Fields that render something from outside the repository's files, or run plugin configurations
# whose own fields (a PatchTransformer's `path`, a ConfigMapGenerator's `files`) fetch URLs.
REFUSED_FIELDS = {
    "helmCharts": "renders a Helm chart",
    "helmChartInflationGenerator": "renders a Helm chart",
    "helmGlobals": "configures Helm charts",
    "generators": "runs generator plugins, which read files and URLs of their own",
    "transformers": "runs transformer plugins, which read files and URLs of their own",
    "validators": "runs validator plugins, which read files and URLs of their own",
}
KNOWN_FIELDS = set(PATH_LISTS) | set(PATH_ENTRIES) | set(GENERATORS) | PLAIN_FIELDS | set(REFUSED_FIELDS)

# What kustomize reads as URL syntax in an entry: a scheme, host or port (`:`), a user (`@`), a
# query (`?`); and what no plain relative path under gitops/ holds (a backslash, a control
# character). A repository split (`//`) is an empty segment, refused apart. Spaces and letters
# beyond ASCII are file names like any other.
_NOT_IN_A_PATH = re.compile(r"[:@?\\\x00-\x1f\x7f]")


def entries(kustomization: dict[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """(field, entry, what it must name) for every path a kustomization names; an entry that is not
    a string is yielded as it is (it is refused)."""
    for field, kind in PATH_LISTS.items():
        yield from ((field, entry, kind) for entry in _listed(kustomization, field))
    for field in PATH_ENTRIES:
        for entry in _listed(kustomization, field):
            if isinstance(entry, dict) and "path" in entry:
                yield field, entry["path"], FILE
    for field in GENERATORS:
        for generator in _listed(kustomization, field):
            if not isinstance(generator, dict):
                continue
            for entry in _listed(generator, "files"):  # "file" or "key=file"
                yield f"{field}.files", entry.split("=", 1)[-1] if isinstance(entry, str) else entry, FILE
            for entry in _listed(generator, "envs"):
                yield f"{field}.envs", entry, FILE
            if "env" in generator:
                yield f"{field}.env", generator["env"], FILE
    openapi = kustomization.get("openapi")
    if isinstance(openapi, dict) and "path" in openapi:
        yield "openapi", openapi["path"], FILE


def _listed(mapping: dict[str, Any], field: str) -> list[Any]:
    value = mapping.get(field)
    return value if isinstance(value, list) else [value] if value is not None else []


def field_problems(kustomization: Any) -> Iterator[str]:
    """What in the shape of a kustomization this check does not read, or refuses."""
    if not isinstance(kustomization, dict):
        yield "is not a mapping of fields"
        return
    for field in kustomization:
        if field in REFUSED_FIELDS:
            yield f"{field}: {REFUSED_FIELDS[field]}; a model is served from gitops/ alone"
        elif field not in KNOWN_FIELDS:
            yield f"{field!r} is not a field this check reads (kustomize matches names ignoring case)"
    for field, allowed in {**PATH_ENTRIES, **dict.fromkeys(GENERATORS, GENERATOR_KEYS)}.items():
        for entry in _listed(kustomization, field):
            if not isinstance(entry, dict):
                yield f"{field}: an entry is not a mapping"
                continue
            yield from (
                f"{field}: {key!r} is not a key this check reads" for key in entry if key not in allowed
            )
    openapi = kustomization.get("openapi")
    if openapi is not None and not (isinstance(openapi, dict) and set(openapi) <= OPENAPI_KEYS):
        yield "openapi: only `path` and `version` are read"


def reference_problem(text: Any, *, folder: Path, gitops: Path, kind: str = EITHER) -> str | None:
    """Why `text`, named by a kustomization in `folder`, is not a plain path to a `kind` present under
    `gitops` (None: it is). `gitops` must be resolved."""
    if not isinstance(text, str):
        # The type, not the value: aliases nest a value tenfold per level in a few bytes of YAML.
        return f"a {type(text).__name__} is not a path"
    empty_segment = "" in text.removesuffix("/").split("/")
    if not text or text.startswith("/") or empty_segment or _NOT_IN_A_PATH.search(text):
        return f"{text} is not a plain relative path (a URL, a repository or an absolute path is refused)"
    if _go_lower(text).startswith("github.com/"):
        return f"{text} is read by kustomize as a GitHub repository"
    target = Path(os.path.normpath(folder / text))
    if not target.is_relative_to(gitops):
        return f"reads {text}, outside gitops/"
    exists = target.is_dir() if kind == FOLDER else target.is_file() if kind == FILE else target.exists()
    if not exists:
        return f"{text} is no {kind} under gitops/"
    if target.resolve() != target:
        return f"{text} passes through a symbolic link"
    return None


def _go_lower(text: str) -> str:
    """`text` lowered one character for one, as Go's strings.ToLower does (kustomize compares hosts
    so): Python lowers İ to two characters, Go to an i."""
    return "".join(character.lower()[:1] for character in text)


def kustomization_files(gitops: Path) -> Iterator[Path]:
    """Every file kustomize would read as a kustomization under `gitops`; links are not followed."""
    for current, folders, files in os.walk(gitops, followlinks=False):
        folders.sort()
        yield from (Path(current) / name for name in sorted(files) if name in render_plan.KUSTOMIZATION_FILES)


def references_leaving_gitops(root: Path) -> list[Finding]:
    """A finding for each kustomization under `root`/gitops that reads beyond it, or that this check
    cannot read (then it cannot say what kustomize would fetch)."""
    gitops = (root / "gitops").resolve()
    findings = []
    for path in kustomization_files(gitops):
        where = str(path.relative_to(gitops.parent))
        if path.is_symlink():
            continue  # a finding of its own (SYMLINKS)
        try:
            kustomization = strict_yaml.load(path.read_bytes().decode("utf-8"))
        except OSError as error:
            findings.append(Finding(where, f"cannot be read ({error.strerror})", rule=LEAVING_GITOPS))
            continue
        except UnicodeDecodeError:
            findings.append(Finding(where, "is not UTF-8 text, which this check reads", rule=LEAVING_GITOPS))
            continue
        except yaml.YAMLError as error:
            detail = " ".join(str(error).split())
            findings.append(Finding(where, f"is not YAML this check reads ({detail})", rule=LEAVING_GITOPS))
            continue
        problems = list(field_problems(kustomization))
        if isinstance(kustomization, dict):
            problems += [
                f"{field}: {problem}"
                for field, text, kind in entries(kustomization)
                if (problem := reference_problem(text, folder=path.parent, gitops=gitops, kind=kind))
            ]
        findings += [Finding(where, problem, rule=LEAVING_GITOPS) for problem in problems]
    return findings
