"""`make demo` stays true: the main job runs end to end and reaches the expected verdicts."""

import json

import pytest

from modelops.demo.run import run_demo

pytestmark = pytest.mark.slow


def test_the_demo_passes_the_better_challenger_and_blocks_the_biased_one(tmp_path):
    runs = run_demo(tmp_path)
    verdicts = {run.key: run.outcome.passed for run in runs}
    assert verdicts == {"champion": True, "better": True, "biased": False}
    biased = next(run for run in runs if run.key == "biased")
    assert not biased.outcome.result("fairness").passed
    assert biased.outcome.result("evaluation").passed  # blocked for fairness, not accuracy
    for run in runs:
        for name in ("report.md", "verdict.json", "model_card.md", "drift.html"):
            assert (run.report_dir / name).is_file(), (run.key, name)
        assert json.loads((run.report_dir / "verdict.json").read_text())["passed"] is run.outcome.passed
