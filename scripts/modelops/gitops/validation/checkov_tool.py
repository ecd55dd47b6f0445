"""checkov as a plain tool over rendered manifests: its built-in checks plus policies/checkov/.

checkov's dependencies conflict with the project's pins, so it runs from uv's isolated tool
environment at the version pinned in policies/checkov/requirements.txt, the one place dependabot
updates. The `policy` workflow runs it the same way (see .github/workflows/policy.yml); the tests
and the benchmark call this module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.errors import InputError

PIN_FILE = Path("policies") / "checkov" / "requirements.txt"
CHECKS_DIR = Path("policies") / "checkov"
_TIMEOUT_S = 900  # a first run downloads checkov and about a hundred dependencies


@dataclass(frozen=True)
class Outcome:
    check_id: str
    resource: str  # checkov's id: Kind.namespace.name
    file: str
    passed: bool


def pinned_version(root: Path) -> str:
    text = (root / PIN_FILE).read_text(encoding="utf-8")
    match = re.search(r"^checkov==([\w.]+)\s*$", text, re.MULTILINE)
    if match is None:
        raise InputError(f"{PIN_FILE}: no `checkov==<version>` line")
    return match.group(1)


def command(root: Path) -> list[str]:
    uvx = shutil.which("uvx")
    if uvx is None:
        raise InputError("uvx not found: checkov runs from uv's tool environment (install uv)")
    return [uvx, "--from", f"checkov=={pinned_version(root)}", "checkov"]


def scan(
    folders: Path | Sequence[Path],
    *,
    root: Path,
    checks: list[str] | None = None,
    platform_rules: bool = True,
) -> list[Outcome]:
    """Every outcome of checkov's Kubernetes checks, and the platform's rules unless `platform_rules`
    is false (objects outside gitops/), over the manifests in `folders`.

    `checks` limits the run to those ids. A tool that does not run, or whose output is not a
    report, raises `InputError`: it must never pass silently.
    """
    folders = [folders] if isinstance(folders, Path) else list(folders)
    arguments = [
        *("--framework", "kubernetes"),
        *(argument for folder in folders for argument in ("--directory", str(folder))),
        *(("--external-checks-dir", str(root / CHECKS_DIR)) if platform_rules else ()),
        *("--skip-download", "--compact", "--output", "json"),
        *(("--check", ",".join(checks)) if checks else ()),
    ]
    environment = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "LOG_LEVEL": "ERROR"}
    try:
        done = subprocess.run(
            [*command(root), *arguments], capture_output=True, text=True, env=environment, timeout=_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"checkov did not finish within {_TIMEOUT_S} s") from None
    # checkov exits 1 when a check fails; anything but a JSON report is a broken run.
    try:
        reports = _reports(done.stdout)
    except ValueError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"checkov exited {done.returncode} without a report: {tail}") from None
    return [
        Outcome(check["check_id"], check["resource"], check["file_path"], passed)
        for report in reports
        for key, passed in (("passed_checks", True), ("failed_checks", False))
        for check in report.get("results", {}).get(key, [])
    ]


def _reports(stdout: str) -> list[dict[str, Any]]:
    text, decoder, reports = stdout.strip(), json.JSONDecoder(), []
    if not text.startswith(("{", "[")):
        raise ValueError("not JSON")
    while text:  # one JSON document per framework pass, concatenated
        document, end = decoder.raw_decode(text)
        reports += document if isinstance(document, list) else [document]
        text = text[end:].strip()
    return reports
