"""The rollout history round-trips through a real (embedded) MLflow."""

from __future__ import annotations

import uuid

import pytest

from modelops.errors import InputError
from modelops.rollouts.records import AnalysisRecord, analyses, log_analysis, set_proposed_commit


def _model() -> str:
    return f"records-{uuid.uuid4().hex[:8]}"  # one experiment per test: the registry is the session's


def test_a_record_reads_back_as_written_and_in_window_order() -> None:
    model = _model()
    later = AnalysisRecord(
        model,
        "prod",
        "4",
        "3",
        25,
        600.0,
        900.0,
        "step",
        "every check passed",
        evidence={"candidate.p95_seconds": 0.031, "stable.p95_seconds": 0.029},
    )
    earlier = AnalysisRecord(
        model,
        "prod",
        "4",
        "3",
        10,
        0.0,
        300.0,
        "wait",
        "12 candidate requests, 100 needed",
        no_data=True,
        evidence={"candidate.requests": 12.0, "candidate.error_ratio": float("nan")},
    )
    log_analysis(later)
    run_id = log_analysis(earlier)
    set_proposed_commit(run_id, "c0ffee")
    log_analysis(AnalysisRecord(model, "staging", "4", "3", 50, 0.0, 50.0, "complete", "last step passed"))

    prod = analyses(model, environment="prod")
    assert [r.candidate_percent for r in prod] == [10, 25]
    first = prod[0]
    assert (first.decision, first.no_data, first.proposed_commit, first.run_id) == (
        "wait",
        True,
        "c0ffee",
        run_id,
    )
    assert first.evidence == {"candidate.requests": 12.0}  # NaN means not measured: not stored
    assert prod[1].evidence == pytest.approx(later.evidence)
    assert len(analyses(model)) == 3
    assert analyses(_model()) == []  # no experiment yet: no history, not an error


def test_names_that_could_rewrite_the_search_are_refused() -> None:
    with pytest.raises(InputError, match="environment name"):
        analyses("credit-risk", environment="prod' OR tags.x = 'y")
    with pytest.raises(InputError, match="model name"):
        analyses("credit risk/../x")
    with pytest.raises(ValueError, match="decision"):
        AnalysisRecord("m", "prod", "2", "1", 10, 0.0, 1.0, "proceed", "")  # type: ignore[arg-type]
