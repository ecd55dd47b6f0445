"""A validation's result kept in a file, so the gate can reuse it while nothing it read has changed.

`modelops validate --save F`, then `modelops gate --validated F`: the gate needs the validation's
findings, and validating again would repeat the slowest step (the renders:
seconds at 300 models). The promotion-gate workflow does not use it: its gate validates the head
itself.
The record holds a digest of what a validation reads:
the repository's gitops/, policies/ and environments/ (every file and folder name and every
file's bytes), the CRD schemas, this package's code (the rules) and
kubectl's version. The
gate reuses the record only when that digest is the same now. It validates again when the record
is missing or unreadable, and whenever validation could read something the digest cannot cover:
a symbolic link in those trees, or anything the check before rendering refuses (a kustomization
naming a URL or a path outside gitops/, or one it cannot read): validation then renders nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import modelops
from modelops.gitops.rendering.render import kubectl
from modelops.gitops.rules.finding import Finding
from modelops.gitops.rules.render_inputs import before_rendering, links_under
from modelops.gitops.validation.schemas import crd_schema_dir
from modelops.gitops.validation.validate import Validation
from modelops.reports.files import write_json_atomic

FORMAT = 2  # 2: findings name their object and rule
REPOSITORY_INPUTS = ("gitops", "policies", "environments")


def _entries(folder: Path) -> Iterator[Path]:
    """Every folder and file under `folder`, in a stable order; links are listed, never followed."""
    for current, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(files + folders):
            yield Path(current) / name


def _sources(root: Path) -> list[tuple[str, Path]]:
    return [(name, root / name) for name in REPOSITORY_INPUTS] + [
        ("crds", crd_schema_dir()),
        ("modelops", Path(modelops.__file__).parent),
    ]


def beyond_the_digest(root: Path) -> str | None:
    """Why validation could read something `inputs_digest` does not cover, or None."""
    for label, folder in _sources(root):
        if folder.is_symlink():
            return f"{label} is a symbolic link"
        if (link := next(links_under(folder), None)) is not None:
            return f"{label}/{link.relative_to(folder).as_posix()} is a symbolic link"
    # A kustomization reading beyond gitops/ reads what the digest does not cover (and validation
    # refuses the tree without rendering it).
    if refused := before_rendering(root):
        return f"{refused[0].file}: {refused[0].message}"
    return None


def _kubectl_version() -> str:
    done = subprocess.run([kubectl(), "version", "--client"], capture_output=True, text=True, timeout=30)
    return done.stdout


def inputs_digest(root: Path) -> str:
    digest = hashlib.sha256()

    def add(part: bytes) -> None:
        # Lengths first, so no two different trees hash the same bytes.
        digest.update(len(part).to_bytes(8, "big") + part)

    for label, folder in _sources(root):
        for path in _entries(folder):
            add(f"{label}/{path.relative_to(folder).as_posix()}".encode())
            if path.is_symlink():
                add(b"link:" + os.readlink(path).encode())
            elif path.is_file():
                add(b"file:" + path.read_bytes())
            else:
                add(b"folder")
    add(_kubectl_version().encode())
    return digest.hexdigest()


def save(path: Path, validation: Validation, digest: str) -> Path:
    return write_json_atomic(
        path,
        {
            "format": FORMAT,
            "inputs": digest,
            "objects": validation.objects,
            "findings": [f.to_dict() for f in validation.findings],
        },
    )


def reusable(path: Path, root: Path) -> tuple[Validation | None, str]:
    """The recorded validation if it was made from `root`'s inputs as they are now, else None; and why."""
    beyond = beyond_the_digest(root)
    if beyond:
        return None, f"{beyond}, which a record cannot vouch for"
    digest = inputs_digest(root)
    try:
        record: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"{path} is unreadable ({exc.__class__.__name__})"
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return None, f"{path} is not a validation record of format {FORMAT}"
    if record.get("inputs") != digest:
        return None, f"{path} was made from other inputs than the tree being validated"
    try:
        findings = [Finding.from_dict(f) for f in record["findings"]]
        objects = int(record["objects"])
    except (KeyError, TypeError, ValueError):
        return None, f"{path} is incomplete"
    # The rendered objects are not kept: a reused validation has its findings and count only.
    return Validation(findings, objects, rendered={}), f"reusing {path}: nothing it read has changed"
