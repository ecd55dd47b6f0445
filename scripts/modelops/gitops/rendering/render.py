"""Rendering with `kubectl kustomize`: each environment by as few calls as it needs, side by side.

An environment folder is one call, unless `render_plan.groups` cuts its list of overlays
(kustomize is quadratic in the objects one call holds); then each group is one call on a
kustomization written to a scratch folder that points back at the same overlays, and the
groups' objects are joined in the list's order after the duplicates check one call would do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import yaml

from modelops.errors import InputError
from modelops.gitops.rendering import documents as yaml_documents
from modelops.gitops.rendering import render_plan
from modelops.gitops.rendering.documents import Document
from modelops.gitops.repository.layout import KUSTOMIZATION

# kustomize allocates heavily; with Go's default collector (GOGC=100) ~15 % of a 300-model render
# was collecting. Measured on 100 overlays: 400 takes 1.5 s of CPU instead of 2.0 s, and
# 133 MB of memory instead of 82 MB.
_GO_GC = "400"

# Rendering reads files, never the network: the check before rendering (rules/render_inputs.py)
# refuses a kustomization naming a URL or a repository, and should one slip past it the fetch
# fails at once. kustomize's HTTP client takes its proxy from these variables (Go's rule), so an
# http(s) URL goes to a port nothing listens on (port 0 cannot be connected to); Go does not proxy
# localhost and loopback addresses, which the check alone keeps out. git (the clone of a remote
# base) is allowed no protocol, reads no user or system configuration that could allow one back,
# and asks for no credentials.
_CLOSED_PROXY = "http://127.0.0.1:0"
_NO_NETWORK = {
    **{name: _CLOSED_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
    **{name: _CLOSED_PROXY for name in ("ALL_PROXY", "all_proxy")},
    "NO_PROXY": "",
    "no_proxy": "",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "protocol.allow",
    "GIT_CONFIG_VALUE_0": "never",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_SSH_COMMAND": "false",
}
# What would let git past `protocol.allow=never`: GIT_ALLOW_PROTOCOL overrides it, and any
# GIT_CONFIG_* (GIT_CONFIG_PARAMETERS is `git -c`) could set it back; those above replace them.
_DROPPED = ("GIT_ALLOW_PROTOCOL",)


def offline_environment(environment: dict[str, str]) -> dict[str, str]:
    """`environment` for a kubectl that can fetch nothing (see _NO_NETWORK)."""
    kept = {name: value for name, value in environment.items() if name not in _DROPPED}
    kept = {name: value for name, value in kept.items() if not name.startswith("GIT_CONFIG_")}
    return {"GOGC": _GO_GC, **kept, **_NO_NETWORK}


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise InputError("kubectl not found on PATH: it renders the kustomize overlays (kubectl kustomize)")
    return path


def render(folder: Path, *, shown_as: Path | None = None) -> list[Document]:
    """The rendered objects, each with the text kustomize wrote for it (checkov reads that text)."""
    environment = offline_environment(dict(os.environ))
    done = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=300, env=environment
    )
    if done.returncode != 0:
        raise InputError(f"{shown_as or folder}: kustomize failed: {error_detail(done.stderr)}")
    return yaml_documents.read(done.stdout, source=f"kubectl kustomize {shown_as or folder}")


def error_detail(stderr: str) -> str:
    """kustomize's error on one line, out of kubectl's log line (`err="..."` or `err=<` lines `>`)."""
    multi_line = re.search(r"err=<\n(.*?)\n\s*>\s*$", stderr, re.DOTALL)
    if multi_line:
        return " ".join(line.strip() for line in multi_line.group(1).splitlines() if line.strip())
    quoted = re.search(r'err="((?:[^"\\]|\\.)*)"', stderr)
    if quoted:
        return quoted.group(1).replace('\\"', '"')
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "no detail"


def _groups(folder: Path) -> list[list[str]] | None:
    """Groups for `folder`, or None when anything is unusual: one call then reports it as kustomize does."""
    # kustomize refuses a folder holding two kustomization files; one call must see that.
    if sum((folder / name).exists() for name in render_plan.KUSTOMIZATION_FILES) != 1:
        return None
    try:
        kustomization = yaml.safe_load((folder / KUSTOMIZATION).read_text(encoding="utf-8"))
        entries = kustomization.get("resources") if isinstance(kustomization, dict) else None
        listed = entries if isinstance(entries, list) else []
        folders = [isinstance(entry, str) and (folder / entry).is_dir() for entry in listed]
    except (OSError, ValueError, yaml.YAMLError):  # unreadable, not UTF-8, not YAML, odd names
        return None
    return render_plan.groups(kustomization, folders)


def _write_group(group: Path, folder: Path, entries: list[str]) -> Path:
    """A kustomization in `group` listing `entries`, which are relative to `folder`."""
    group.mkdir()
    resolved = [os.path.relpath((folder / entry).resolve(), group) for entry in entries]
    body = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resolved}
    (group / KUSTOMIZATION).write_text(yaml.safe_dump(body, sort_keys=False))
    return group


def _joined(folder: Path, parts: list[tuple[str, list[Document]]]) -> list[Document]:
    problems = render_plan.duplicates(
        (label, yaml_documents.objects(documents)) for label, documents in parts
    )
    if problems:
        raise InputError(f"{folder}: kustomize failed: {problems[0]}")
    return [document for _, documents in parts for document in documents]


def render_each(folders: dict[str, Path], *, grouped: bool = True) -> Iterator[tuple[str, list[Document]]]:
    """(name, documents) for each folder once all of its calls finish, in the order given.

    The calls run on as many workers as there are cores, queued folder by folder, so the
    first folder is ready early and its consumers (checkov) start while the rest render.
    `grouped=False` renders each folder in one call (the benchmark compares the two).
    """
    with (
        tempfile.TemporaryDirectory(prefix="modelops-render-") as scratch,
        ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool,
    ):
        try:
            yield from _render_planned(folders, pool=pool, scratch=Path(scratch), grouped=grouped)
        finally:
            # On an error, or a caller that stops reading, drop the queued calls rather than run them.
            pool.shutdown(cancel_futures=True)


def _render_planned(
    folders: dict[str, Path], *, pool: ThreadPoolExecutor, scratch: Path, grouped: bool
) -> Iterator[tuple[str, list[Document]]]:
    planned: dict[str, list[tuple[str, Future[list[Document]]]]] = {}
    for name, folder in folders.items():
        groups = _groups(folder) if grouped else None
        if groups is None:
            planned[name] = [(str(folder), pool.submit(render, folder))]
            continue
        planned[name] = []
        first = 1
        for entries in groups:
            group = _write_group(scratch / f"{len(planned)}-{first}", folder, entries)
            label = f"{folder} resources {first}-{first + len(entries) - 1}"
            planned[name].append((label, pool.submit(render, group, shown_as=folder)))
            first += len(entries)
    for name, calls in planned.items():
        parts = [(label, call.result()) for label, call in calls]
        yield name, _joined(folders[name], parts) if len(parts) > 1 else parts[0][1]
