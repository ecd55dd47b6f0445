"""Rendering with `kubectl kustomize`: one call per environment, run side by side."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
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


def render_all(folders: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    """Each folder rendered once; calls overlap (kustomize is single-threaded, the machine is not)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        rendered = dict(zip(folders, pool.map(render, folders.values()), strict=True))
    return rendered
