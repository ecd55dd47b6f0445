"""Timing records shared by both sides, so the report can tell measured figures from scaled ones."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def timing(decision: str, measured_s: float, *, scaled_s: float | None = None, basis: str) -> dict[str, Any]:
    """One decision's wall time. `scaled_s` differs from `measured_s` only when the decision ran on
    less work than the gate did (fewer rows or resamples) and was extrapolated linearly; `basis`
    says what ran and how it was scaled."""
    scaled = measured_s if scaled_s is None else scaled_s
    return {"decision": decision, "measured_s": measured_s, "scaled_s": scaled, "basis": basis}


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    cpu_s: float  # user + system, of the process and what it waited for
    max_rss_kib: int
    exit_code: int


def run_process(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    show_stdout: bool = False,
    show_stderr: bool = False,
) -> ProcessRun:
    """Run `command` in a fresh process; its wall time and the CPU time and peak memory the kernel
    counted for it (os.wait4 reaps it, so Popen must not wait again)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=None if show_stdout else subprocess.DEVNULL,
        stderr=None if show_stderr else subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return ProcessRun(wall_s, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, process.returncode)
