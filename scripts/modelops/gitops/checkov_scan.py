"""Run checkov (built-in Kubernetes checks plus policies/checkov/) over a folder of rendered manifests.

checkov's dependencies conflict with the project's pins, so it never enters the project's
environment: it runs in uv's isolated tool environment (`uvx --from checkov==<pinned>`). Its start
costs seconds and one run uses one core, so one process (checkov_batch.py) imports checkov once and
forks a checkov run per chunk of the manifests, one per core at a time (see checkov_input for why
the chunks give the same findings as one run over everything). `CheckovRun` starts that process
early, so the import overlaps whatever the caller does before it has manifests to scan.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from modelops.errors import InputError
from modelops.gitops import checkov_input
from modelops.gitops.rendering.documents import Document

CHECKOV_VERSION = "3.3.30"
_TIMEOUT_S = 600  # a first run downloads checkov and ~100 dependencies
_BATCH = Path(__file__).with_name("checkov_batch.py")
# About 200 rendered objects: a chunk's start (~0.1 s, forked) stays noise, checkov's pairwise
# graph work stays small, and the cores finish together.
_CHUNK_CHARS = 150_000


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
    resources: int = 0  # objects checkov read, whether or not a check applied to them

    @property
    def ok(self) -> bool:
        return not self.failed


def tool_available() -> bool:
    """Whether checkov can run here (uv on PATH and checkov installed or installable)."""
    return _checkov_problem() is None


def scan(folder: Path, *, checks_dir: Path, chunks: int | None = None) -> ScanResult:
    """Every built-in Kubernetes check and every check in `checks_dir`, over the manifests in `folder`.

    Failed checks are a result. A missing tool, a custom check that does not load, a manifest
    checkov cannot read or a checkov crash raise `InputError`: each would otherwise pass silently.
    `chunks` sets how many checkov runs share the work (default: by size); 1 is one run over all.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"nothing to scan: {folder} is not a folder")
    with CheckovRun(checks_dir=checks_dir, shown_as=folder, chunks=chunks) as run:
        run.feed_pieces(checkov_input.read_folder(folder))
        return run.finish()


class CheckovRun:
    """One scan, started now and fed as manifests arrive: `feed` files, then `finish` for the result.

    Each `feed` sends its chunks to checkov at once, so checkov scans one environment while
    kustomize still renders the next. Objects a graph check may relate wait for `finish`.
    `chunks` as for `scan`; `jobs` is how many checkov runs at once (default: one per core).
    With `failures_only`, checkov lists only failed checks (`passed` still counts the rest): its
    JSON report of every passed check is a fifth of its time.
    """

    def __init__(
        self,
        *,
        checks_dir: Path,
        shown_as: Path,
        chunks: int | None = None,
        jobs: int | None = None,
        failures_only: bool = False,
    ) -> None:
        self.checks_dir, self.shown_as = Path(checks_dir), Path(shown_as)
        # checkov ignores a checks folder without __init__.py and then runs no custom check at all.
        if not (self.checks_dir / "__init__.py").is_file():
            raise InputError(f"no custom checks: {self.checks_dir} is not a folder with an __init__.py")
        problem = _checkov_problem()
        if problem:
            raise InputError(f"checkov is not available: {problem}")
        self.jobs = jobs or _cores()
        self._chunks = chunks
        # One run over everything, at `finish`, when asked or when a custom graph check (YAML or
        # JSON in the checks folder) may relate any objects.
        custom_graph_checks = any(
            p.suffix in checkov_input.MANIFEST_SUFFIXES for p in self.checks_dir.rglob("*")
        )
        self._whole = chunks == 1 or custom_graph_checks
        self._held: list[checkov_input.Piece] = []
        self._fed: set[str] = set()
        self._folders: list[Path] = []
        self._finished = False
        self._scratch = tempfile.TemporaryDirectory(prefix="modelops-checkov-")
        self._log = Path(self._scratch.name) / "batch.log"
        # checkov imports the custom checks, and Python caches their bytecode beside them: a copy
        # keeps that out of the repository, which validation only reads.
        checks_copy = Path(self._scratch.name) / "checks"
        shutil.copytree(self.checks_dir, checks_copy, ignore=shutil.ignore_patterns("__pycache__"))
        command = [
            *_checkov_command(offline=True),
            "python", "-I", str(_BATCH), str(self.jobs),
            "--framework", "kubernetes",
            "--external-checks-dir", str(checks_copy),
            "--skip-download",
            "--output", "json",
            "--compact",
            *(["--quiet"] if failures_only else []),
        ]  # fmt: skip
        env = _env()
        # Chunks already keep every core busy; checkov forking again per file only adds pickling.
        env["CHECKOV_PARALLELIZATION_TYPE"] = "none"
        try:
            with self._log.open("w") as log:
                self._proc: subprocess.Popen[str] | None = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                    text=True, env=env, start_new_session=True,
                )  # fmt: skip
        except OSError as exc:
            self._scratch.cleanup()
            raise InputError(f"checkov could not start: {exc}") from exc

    def __enter__(self) -> CheckovRun:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            if hasattr(os, "killpg"):
                os.killpg(self._proc.pid, signal.SIGKILL)  # the batch and every checkov it forked
            else:
                self._proc.kill()
            self._proc.wait()
        self._proc = None
        self._scratch.cleanup()

    def feed(self, files: Mapping[str, Sequence[Document]]) -> None:
        """Scan `files` (a path relative to the scanned tree: its documents) as part of this scan."""
        self.feed_pieces(checkov_input.pieces_of(files))

    def feed_pieces(self, pieces: Sequence[checkov_input.Piece]) -> None:
        if self._finished or self._proc is None:
            raise RuntimeError("this CheckovRun has finished")
        paths = {piece.path for piece in pieces}
        if paths & self._fed:
            raise ValueError(f"fed twice: {', '.join(sorted(paths & self._fed))}")
        self._fed |= paths
        checkov_input.refuse_unreadable(pieces, shown_as=self.shown_as)
        now = [p for p in pieces if not (self._whole or checkov_input.graph_related(p))]
        self._held += [p for p in pieces if self._whole or checkov_input.graph_related(p)]
        self._send(checkov_input.plan(now, chunks=self._chunk_count(now)))

    def finish(self) -> ScanResult:
        if self._finished or self._proc is None:
            raise RuntimeError("this CheckovRun has finished")
        self._finished = True
        if self._whole:
            units, free = [self._held], []
        else:
            units, free = checkov_input.graph_units(self._held)
        chunks = checkov_input.plan(free, chunks=self._chunk_count(self._held), whole=units)
        # An empty folder still loads (and so checks) the custom checks.
        self._send(chunks if chunks or self._folders else [[]])
        exit_codes = self._wait()
        return _merge([self._result(folder, exit_codes) for folder in self._folders])

    def _result(self, folder: Path, exit_codes: dict[str, int]) -> ScanResult:
        report, log, count = (Path(f"{folder}.{suffix}") for suffix in ("json", "log", "count"))
        outcome = subprocess.CompletedProcess(
            args=[str(folder)],
            returncode=exit_codes.get(str(folder), 2),
            stdout=report.read_text(errors="replace") if report.exists() else "",
            stderr=log.read_text(errors="replace") if log.exists() else "",
        )
        result = _parse_report(outcome, folder=self.shown_as, checks_dir=self.checks_dir)
        # checkov's report counts no resource when no check applied to any: a chunk of objects
        # no check reads (NetworkPolicies, here) would look unread.
        resources = json.loads(count.read_text())["resources"] if count.exists() else result.resources
        return dataclasses.replace(result, resources=resources)

    def _chunk_count(self, pieces: Sequence[checkov_input.Piece]) -> int:
        if self._whole:
            return 1
        if self._chunks:
            return self._chunks
        return max(1, min(math.ceil(sum(len(p.text) for p in pieces) / _CHUNK_CHARS), 8 * self.jobs))

    def _send(self, chunks: list[list[checkov_input.Piece]]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        for chunk in chunks:
            folder = Path(self._scratch.name) / f"chunk-{len(self._folders):03d}"
            checkov_input.write(chunk, folder)
            self._folders.append(folder)
            # Outside whole mode, built-in graph checks alone run, and only on their subjects.
            order = {"folder": str(folder), "graph": self._whole or checkov_input.needs_graph(chunk)}
            try:
                self._proc.stdin.write(json.dumps(order) + "\n")
                self._proc.stdin.flush()
            except BrokenPipeError:
                pass  # the batch has died: `_wait` reports why

    def _wait(self) -> dict[str, int]:
        assert self._proc is not None
        try:
            stdout, _ = self._proc.communicate(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            self.close()
            raise InputError(f"checkov did not finish within {_TIMEOUT_S} s") from exc
        log = self._log.read_text(errors="replace")
        if self._proc.returncode != 0:
            raise InputError(f"checkov crashed (exit {self._proc.returncode}): {_last_line(log)}")
        try:
            return json.loads(stdout)
        except json.JSONDecodeError as exc:
            raise InputError(f"checkov's batch printed no exit codes: {_last_line(log)}") from exc


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # the cores this process may use (Linux)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _merge(results: list[ScanResult]) -> ScanResult:
    def ordered(findings: Any) -> tuple[Any, ...]:
        return tuple(sorted(findings, key=lambda f: (f.file, f.resource, f.check_id)))

    return ScanResult(
        passed=sum(r.passed for r in results),
        failed=ordered(f for r in results for f in r.failed),
        skipped=ordered(f for r in results for f in r.skipped),
        passed_checks=ordered(f for r in results for f in r.passed_checks),
        resources=sum(r.resources for r in results),
    )


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
    if summary.get("parsing_errors"):  # `--quiet` counts them without naming them
        raise InputError(f"checkov could not parse {summary['parsing_errors']} file(s) under {folder}")
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
