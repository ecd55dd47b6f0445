"""Rendering with `kubectl kustomize`: one call per environment, run side by side."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from modelops.errors import InputError
from modelops.gitops import yaml_documents
from modelops.gitops.yaml_documents import Document


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise InputError("kubectl not found on PATH: it renders the kustomize overlays (kubectl kustomize)")
    return path


def render(folder: Path) -> list[Document]:
    """The rendered objects, each with the text kustomize wrote for it (checkov reads that text)."""
    done = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise InputError(f"{folder}: kustomize failed: {detail[-1] if detail else 'no detail'}")
    return yaml_documents.read(done.stdout, source=f"kubectl kustomize {folder}")


def render_each(folders: dict[str, Path]) -> Iterator[tuple[str, list[Document]]]:
    """(name, documents) for each folder as its render finishes; the kustomize calls overlap."""
    with ThreadPoolExecutor(max_workers=len(folders) or 1) as pool:
        pending = {pool.submit(render, folder): name for name, folder in folders.items()}
        for done in as_completed(pending):
            yield pending[done], done.result()
