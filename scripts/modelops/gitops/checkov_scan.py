"""Run checkov (built-in Kubernetes checks plus policies/checkov/) over a folder of rendered manifests.

checkov's dependencies conflict with the project's pins, so it never enters the project's
environment: it runs in uv's isolated tool environment (`uvx --from checkov==<pinned>`), once per
folder, because each start costs seconds. The caller renders what it wants checked into a folder
(e.g. `kubectl kustomize gitops/environments/<env>` per environment) and calls `scan` once.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml as pyyaml

from modelops.errors import InputError

_FAST_LOADER = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)

CHECKOV_VERSION = "3.3.30"
_TIMEOUT_S = 600  # a first run downloads checkov and ~100 dependencies
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str  # checkov's id: Kind.namespace.name
    file: str  # relative to the scanned folder
    fields: tuple[str, ...] = ()  # what the check read; a modelops check lists only the fields at fault


@dataclass(frozen=True)
class Skipped(Finding):
    reason: str = ""  # the text after `=` in a `checkov.io/skip<n>: <check id>=<reason>` annotation


@dataclass(frozen=True)
class ScanResult:
    passed: int
    failed: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    # What passed, resource by resource: a check that never ran is absent here, not "passed".
    passed_checks: tuple[Finding, ...] = ()
    resources: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


def tool_available() -> bool:
    """Whether checkov can run here (uv on PATH and checkov installed or installable)."""
    return _checkov_problem() is None


def scan(folder: Path, *, checks_dir: Path) -> ScanResult:
    """Every built-in Kubernetes check and every check in `checks_dir`, over the manifests in `folder`.

    Failed checks are a result. A missing tool, a custom check that does not load, a manifest
    checkov cannot read or a checkov crash raise `InputError`: each would otherwise pass silently.
    """
    folder, checks_dir = Path(folder), Path(checks_dir)
    if not folder.is_dir():
        raise InputError(f"nothing to scan: {folder} is not a folder")
    # checkov ignores a checks folder without __init__.py and then runs no custom check at all.
    if not (checks_dir / "__init__.py").is_file():
        raise InputError(f"no custom checks: {checks_dir} is not a folder with an __init__.py")
    problem = _checkov_problem()
    if problem:
        raise InputError(f"checkov is not available: {problem}")
    with tempfile.TemporaryDirectory(prefix="modelops-checkov-") as tmp:
        copy = Path(tmp) / "manifests"
        _copy_for_checkov(folder, copy)
        _refuse_unreadable(copy, shown_as=folder)
        command = [
            *_checkov_command(offline=True),
            "checkov",
            "--framework", "kubernetes",
            "--external-checks-dir", str(checks_dir.resolve()),
            "-d", str(copy),
            "--skip-download",
            "--output", "json",
            "--compact",
        ]  # fmt: skip
        proc = _run(command)
    return _parse_report(proc, folder=folder, checks_dir=checks_dir)


# --- running the tool -----------------------------------------------------------------------------


def _checkov_command(*, offline: bool) -> list[str]:
    uvx = shutil.which("uvx")
    assert uvx is not None, "checked by _checkov_problem"
    # Once checkov is in uv's cache, --offline skips re-resolving the pin against the index (~3 s).
    return [uvx, *(["--offline"] if offline else []), "--from", f"checkov=={CHECKOV_VERSION}"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"  # no call to PyPI for a newer checkov
    # With an API key checkov talks to the Prisma Cloud platform; this scan must stay offline.
    for key in ("BC_API_KEY", "PRISMA_API_URL"):
        env.pop(key, None)
    # CI sets PYTHONDONTWRITEBYTECODE; uv does not precompile tool environments, so checkov would
    # recompile its ~1,000 modules on every run: ~11 s instead of ~4 s.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, env=_env(), timeout=_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"checkov did not finish within {_TIMEOUT_S} s: {' '.join(command)}") from exc
    except OSError as exc:
        raise InputError(f"checkov could not start: {exc}") from exc


@functools.cache
def _checkov_problem() -> str | None:
    """None when checkov runs through uvx, else why not. Installs it into uv's cache on first use."""
    if shutil.which("uvx") is None:
        return "uvx is not on PATH (install uv: https://docs.astral.sh/uv/)"
    for offline in (True, False):
        proc = _run([*_checkov_command(offline=offline), "python", "-c", "import checkov"])
        if proc.returncode == 0:
            return None
    return f"uvx could not install checkov=={CHECKOV_VERSION}: {_last_line(proc.stderr)}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


# --- what checkov would silently drop -------------------------------------------------------------

# checkov drops, without a word, every document holding a `name` field that is not a string or
# contains `#`, `{` or `}`, anywhere in it. An ApplicationSet's template names are go templates
# (`models-{{ .name }}`), so its checks would never run: in the copy checkov reads, the braces of
# block-style `name:` lines become parentheses. No Kubernetes name can contain a brace, so only
# template names change, and line numbers stay the same.
_TEMPLATED_NAME_LINE = re.compile(r"^(\s*(?:-\s+)*name:\s)(.*[{}].*)$")
_CHECKOV_BAD_NAME = re.compile(r"[#{}]")


def _copy_for_checkov(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix not in (".yaml", ".yml"):
            shutil.copyfile(path, destination)
            continue
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        destination.write_text("".join(map(_neutralise_name, lines)), encoding="utf-8")


def _neutralise_name(line: str) -> str:
    match = _TEMPLATED_NAME_LINE.match(line)
    if not match:
        return line
    return match.group(1) + match.group(2).replace("{", "(").replace("}", ")") + line[match.end() :]


def _refuse_unreadable(folder: Path, *, shown_as: Path) -> None:
    """Raise for any resource checkov would skip, since its checks would then pass silently."""
    unreadable = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in _MANIFEST_SUFFIXES and p.is_file()):
        try:
            # libyaml: ~50x faster than a pure-Python parser on a thousand-model render.
            documents = list(pyyaml.load_all(path.read_text(encoding="utf-8"), Loader=_FAST_LOADER))
        except (pyyaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError(f"{shown_as / path.relative_to(folder)}: not YAML: {exc}") from exc
        for doc in documents:
            if _is_resource(doc) and _has_bad_name(doc):
                name = doc["metadata"].get("name") if isinstance(doc["metadata"], dict) else None
                unreadable.append(f"{path.relative_to(folder)} {doc['kind']}/{name}")
    if unreadable:
        raise InputError(
            f"checkov cannot read {', '.join(unreadable)} under {shown_as}: a `name` field is not a "
            "plain string or holds '#', '{' or '}'"
        )


def _is_resource(doc: Any) -> bool:
    return isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc and doc["kind"] != "Kustomization"


def _has_bad_name(node: Any) -> bool:
    # The same walk as checkov's K8sValidator: `name` keys whose value is neither mapping nor list.
    if isinstance(node, list):
        return any(isinstance(entry, dict) and _has_bad_name(entry) for entry in node)
    for key, value in node.items():
        if isinstance(value, dict | list):
            if _has_bad_name(value):
                return True
        elif key == "name" and (
            not isinstance(value, str) or len(value) > 253 or _CHECKOV_BAD_NAME.search(value)
        ):
            return True
    return False


# --- reading the report ---------------------------------------------------------------------------


def _parse_report(proc: subprocess.CompletedProcess[str], *, folder: Path, checks_dir: Path) -> ScanResult:
    # checkov logs a custom check that fails to import and carries on without it.
    if "Cannot load external check" in proc.stderr:
        line = next(line for line in proc.stderr.splitlines() if "Cannot load external check" in line)
        message = line.split("]")[-1].strip()  # drop the log line's timestamp and level
        raise InputError(f"checkov could not load a custom check from {checks_dir}: {message}")
    # 1 means "some check failed": a result. Anything else (2 when a check raises) is a crash.
    if proc.returncode not in (0, 1):
        raise InputError(f"checkov crashed (exit {proc.returncode}) on {folder}: {_last_line(proc.stderr)}")
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise InputError(f"checkov printed no JSON report for {folder}: {_last_line(proc.stderr)}") from exc
    if isinstance(report, list):  # one entry per framework when several ran
        report = next((r for r in report if r.get("check_type") == "kubernetes"), {})
    results = report.get("results", {})  # absent when the folder held no manifest
    summary = report.get("summary", report)
    if results.get("parsing_errors"):
        files = ", ".join(str(folder / p.lstrip("/")) for p in results["parsing_errors"])
        raise InputError(f"checkov could not parse {files}")
    failed = tuple(_finding(r) for r in results.get("failed_checks", []))
    if proc.returncode == 1 and not failed:
        raise InputError(f"checkov failed on {folder} without a failed check: {_last_line(proc.stderr)}")
    return ScanResult(
        passed=int(summary.get("passed", 0)),
        failed=failed,
        skipped=tuple(
            Skipped(**vars(_finding(r)), reason=r["check_result"].get("suppress_comment", ""))
            for r in results.get("skipped_checks", [])
        ),
        passed_checks=tuple(_finding(r) for r in results.get("passed_checks", [])),
        resources=int(summary.get("resource_count", 0)),
    )


def _finding(record: dict[str, Any]) -> Finding:
    return Finding(
        check_id=record["check_id"],
        check_name=record.get("check_name") or "",
        resource=record["resource"],
        file=record["file_path"].lstrip("/"),
        fields=tuple(record.get("check_result", {}).get("evaluated_keys") or ()),
    )
