"""sha256 manifests of model artifacts: what was registered is what gets served."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(folder: Path) -> dict[str, str]:
    """{relative posix path: sha256} for every file under `folder`, symlinks refused."""
    manifest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise ValueError(f"{path}: artifacts must not contain symlinks")
        if path.is_file():
            manifest[path.relative_to(folder).as_posix()] = file_sha256(path)
    return manifest


def manifest_digest(manifest: dict[str, str]) -> str:
    """One sha256 for the whole manifest (canonical JSON): the release's identity."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()
