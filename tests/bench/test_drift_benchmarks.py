"""The drift benchmarks end to end on small data, through the entry points `make bench` and people use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modelops.bench.drift_false_alarms import count_alarms
from modelops.bench.shipped_data import shipped_data_sets
from modelops.config import load_environment

ROOT = Path(__file__).resolve().parents[2]


def test_the_cold_start_benchmark_times_the_command_against_a_plain_pass():
    completed = subprocess.run(
        [sys.executable, "-m", "modelops.bench.drift_cold_start", "--rows", "20000", "--repeats", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output  # the command exited 1 (drift found), the plain pass 0
    assert "modelops check drift" in output and "read + histogram pass" in output
    assert "x, within the 1.5x target" in output or "x, over the 1.5x target" in output


def test_false_alarms_are_counted_by_what_raised_them():
    # statsmodels' fertility: 219 countries by year, columns with missing values and two empty ones.
    frame = shipped_data_sets()["statsmodels.fertility"]()
    judged, alarms = count_alarms(frame, load_environment("prod").promotion.drift, splits=2)
    assert judged["test"] + judged["distance"] == 2 * (frame.shape[1] - 2)  # the empty two are not judged
    assert judged["missing rise"] == 2 * int(frame.isna().any().sum())
    assert alarms["distance"] == 0 and alarms["other"] == 0
