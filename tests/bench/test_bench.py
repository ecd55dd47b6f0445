"""The benchmark end to end on small data, through the same entry point as `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelops.bench.compare import ColumnVerdicts, IntervalPair, NumberPair

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
    # The gate's evaluation decision and the row bootstrap's, timed side by side in the gate's process.
    assert "Evaluation decision wall time: gate" in output
    assert "DeLong and bootstrap evaluation verdicts agree" in output


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


def test_an_interval_verdict_is_the_regression_rule_on_its_lower_end():
    pair = IntervalPair("roc_auc", "delong", [-0.0100, 0.02], [-0.0101, 0.02], max_regression=0.01)
    assert pair.rule_passes(pair.gate) is True  # exactly -max_regression passes
    assert pair.rule_passes(pair.bootstrap) is False
    assert not pair.same_verdict
    assert IntervalPair("roc_auc", "delong", [-0.02, 0.0], [-0.03, 0.0], max_regression=0.05).same_verdict
    unlimited = IntervalPair("f1", "bootstrap", [-0.5, 0.0], [0.1, 0.2], max_regression=None)
    assert unlimited.rule_passes(unlimited.gate) is None and unlimited.same_verdict
    undefined = IntervalPair("roc_auc", "delong", [None, None], [-0.001, 0.01], max_regression=0.01)
    assert undefined.rule_passes(undefined.gate) is False  # an undefined interval fails, as in the gate
