"""A validation's result kept in a file, so the gate can reuse it while nothing it read has changed.

The promotion-gate job runs `modelops validate --save F`, then `modelops gate --validated F`. The
gate needs the validation's findings, and validating again would repeat the job's slowest step
(renders and checkov: ~20 s at 300 models). The record holds a digest of everything a validation
reads: the repository's gitops/, policies/ and environments/, the CRD schemas, this package's code
(the rules and the pinned checkov version) and kubectl's version. The gate reuses the record only
when that digest is the same now; otherwise, or if the record is missing or unreadable, it
validates again. A record never makes the gate pass what a fresh validation would fail.
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
from modelops.gitops.manifest_checks import Finding
from modelops.gitops.render import kubectl
from modelops.gitops.schemas import crd_schema_dir
from modelops.gitops.validate import Validation
from modelops.reports.files import write_json_atomic

FORMAT = 1
REPOSITORY_INPUTS = ("gitops", "policies", "environments")


def _files(folder: Path) -> Iterator[Path]:
    """Every file under `folder`, in a stable order; links are listed, never followed."""
    for current, folders, files in os.walk(folder, followlinks=False):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(files + [f for f in folders if (Path(current) / f).is_symlink()]):
            yield Path(current) / name


def _kubectl_version() -> str:
    done = subprocess.run([kubectl(), "version", "--client"], capture_output=True, text=True, timeout=30)
    return done.stdout


def inputs_digest(root: Path) -> str:
    digest = hashlib.sha256()
    sources = [(name, root / name) for name in REPOSITORY_INPUTS]
    sources += [("crds", crd_schema_dir()), ("modelops", Path(modelops.__file__).parent)]
    for label, folder in sources:
        for path in _files(folder):
            content = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            name = f"{label}/{path.relative_to(folder).as_posix()}".encode()
            # Lengths first, so no two different trees hash the same bytes.
            digest.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big") + content)
    digest.update(_kubectl_version().encode())
    return digest.hexdigest()


def save(path: Path, validation: Validation, digest: str) -> Path:
    return write_json_atomic(
        path,
        {
            "format": FORMAT,
            "inputs": digest,
            "objects": validation.objects,
            "findings": [{"where": f.where, "message": f.message} for f in validation.findings],
        },
    )


def reusable(path: Path, digest: str) -> tuple[Validation | None, str]:
    """The recorded validation if it was made from the inputs `digest` names, else None; and why."""
    try:
        record: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"{path} is unreadable ({exc.__class__.__name__})"
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return None, f"{path} is not a validation record of format {FORMAT}"
    if record.get("inputs") != digest:
        return None, f"{path} was made from other inputs than the working tree's"
    try:
        findings = [Finding(str(f["where"]), str(f["message"])) for f in record["findings"]]
        objects = int(record["objects"])
    except (KeyError, TypeError, ValueError):
        return None, f"{path} is incomplete"
    # The rendered objects are not kept: a reused validation has its findings and count only.
    return Validation(findings, objects, rendered={}), f"reusing {path}: nothing it read has changed"
