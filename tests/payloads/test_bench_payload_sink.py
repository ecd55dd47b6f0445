"""The payload sink benchmark end to end on few pairs: every side runs, answers 200 to every event,
and each writing side writes every row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_every_side_and_each_writes_every_row_it_was_sent():
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelops.bench.payload_sink",
            *("--pairs", "300", "--null-pairs", "300", "--obvious-pairs", "60"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    for side in ("sink", "null-stdlib", "null-uvicorn", "obvious"):
        assert f"│ {side} " in output, side
    assert "300 " in output
    assert "pairs/s: sink " in output and "pairs per server CPU second: sink " in output
