"""Rendering with `kubectl kustomize`: one call per environment, run side by side."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import yaml

from modelops.errors import InputError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        raise InputError("kubectl not found on PATH: it renders the kustomize overlays (kubectl kustomize)")
    return path


def render(folder: Path) -> list[dict[str, Any]]:
    done = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise InputError(f"{folder}: kustomize failed: {detail[-1] if detail else 'no detail'}")
    return [doc for doc in yaml.load_all(done.stdout, Loader=_LOADER) if doc]


def render_each(folders: dict[str, Path]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(name, objects) for each folder as its render finishes; the kustomize calls overlap."""
    with ThreadPoolExecutor(max_workers=len(folders) or 1) as pool:
        pending = {pool.submit(render, folder): name for name, folder in folders.items()}
        for done in as_completed(pending):
            yield pending[done], done.result()
