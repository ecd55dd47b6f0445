"""The benchmark end to end on small data, through the same entry point as `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelops.bench.compare import ColumnVerdicts, NumberPair

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_runs_both_sides_and_they_agree():
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelops.bench",
            "--rows",
            "20000",
            "--holdout-rows",
            "5000",
            "--evidently-rows",
            "20000",
            "--resamples",
            "10",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "25/25 column verdicts agree" in output
    assert "evidently's own DriftedColumnsCount is 5" in output
    assert "36/36 fairness numbers allclose" in output
    # Both sides ran in their own process and were reported.
    assert "│ gate " in output and "│ obvious " in output
    assert "evidently on all 20,000 rows per side (not scaled)" in output


def _column(drifted: bool | None, method: str) -> dict[str, object]:
    return {"name": "x", "drifted": drifted, "method": method, "score": 0.5}


def test_a_column_agrees_only_on_the_same_verdict_by_the_same_method():
    gate = _column(True, "Wasserstein (normed)")
    assert ColumnVerdicts("x", gate, _column(True, "Wasserstein distance (normed)")).agree
    assert not ColumnVerdicts("x", gate, _column(False, "Wasserstein distance (normed)")).agree
    assert not ColumnVerdicts("x", gate, _column(True, "K-S p_value")).agree
    assert not ColumnVerdicts("x", gate, _column(None, "Hellinger distance")).agree
    assert not ColumnVerdicts("x", gate, None).agree


def test_numbers_match_within_allclose_tolerance_and_undefined_only_matches_undefined():
    assert NumberPair("a", 0.25, 0.25 + 1e-9).close
    assert not NumberPair("a", 0.25, 0.2501).close
    assert NumberPair("a", None, None).close
    assert not NumberPair("a", 0.25, None).close
