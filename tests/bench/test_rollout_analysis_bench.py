"""The canary-analysis benchmark runs end to end on a small history, and its two sides agree."""

from __future__ import annotations

from modelops.bench import rollout_analysis
from tests.tools import require_command


def test_the_benchmark_runs_and_both_sides_reach_the_same_decisions(capsys) -> None:
    require_command("promtool")
    require_command("prometheus")
    assert rollout_analysis.main(["--rollouts", "10", "--days", "2", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "both sides reached the same decisions: True" in out
    # Every kind of canary the bench writes is judged as such: failing and slower ones abort.
    assert "abort 2" in out
