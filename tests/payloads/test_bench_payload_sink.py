"""The payload sink benchmark end to end on few pairs: both sides run and write every row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_both_sides_and_each_writes_every_row_it_was_sent():
    completed = subprocess.run(
        [sys.executable, "-m", "modelops.bench.payload_sink", "--pairs", "300", "--obvious-pairs", "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "│ sink " in output and "│ obvious " in output
    assert "300 " in output and "pairs/s (target 2,000)" in output
