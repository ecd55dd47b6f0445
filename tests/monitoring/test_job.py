"""The monitor on a real registry, real overlays and real parquet in the sink's layout."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from modelops.gates.drift import drift_for_column
from modelops.monitoring.job import run_monitor
from modelops.monitoring.payload_store import open_store
from modelops.monitoring.window import Window
from tests.monitoring.conftest import END, MODEL, live_rows, scorer, write_labels, write_payloads

WINDOW = Window(END.replace(hour=10), END)


def _run(served, **kwargs):
    return run_monitor(
        model=MODEL,
        environment="prod",
        window=WINDOW,
        store=open_store(str(served.payloads)),
        root=served.root,
    )


def _write(served, frame, **kwargs):
    model, _ = scorer(served.version)
    scores = model.predict_proba(frame)[:, 1]
    return write_payloads(served.payloads, frame, scores=scores, version=served.version, **kwargs), scores


def test_live_traffic_like_the_training_data_drifts_nowhere_and_counts_every_row(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=3000, seed=1)
    _write(served, frame.iloc[:1000])
    _write(served, frame.iloc[1000:])
    (stable,) = _run(served).releases
    assert stable.problem is None and stable.rows == 3000 and stable.files == 2
    assert [c.name for c in stable.columns] == served.features
    assert stable.drifted == [], [c for c in stable.columns if c.drifted]
    assert stable.prediction is not None and not stable.prediction.drifted
    assert all(c.score is not None and c.score < 0.1 for c in stable.columns)


def test_a_shifted_column_drifts_with_the_gates_verdict_and_about_its_distance(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=3000, seed=2)
    frame["credit_amount"] = frame["credit_amount"] * 1.6
    _write(served, frame)
    (stable,) = _run(served).releases
    assert stable.drifted == ["credit_amount"]
    measured = next(c for c in stable.columns if c.name == "credit_amount")
    # The gate's exact distance on the same rows (the reference has 700: the gate would use its
    # small-sample test, so the distance is called directly through a large-sample policy).
    from modelops.config import load_environment

    policy = load_environment("prod").promotion.drift.model_copy(update={"small_sample_rows": 10})
    exact = drift_for_column(
        "credit_amount", german_credit.training["credit_amount"], frame["credit_amount"], policy
    )
    assert measured.method == exact.method == "Wasserstein (normed)"
    assert measured.score == pytest.approx(exact.score, rel=0.01)


def test_labels_give_live_metrics_equal_to_scikit_learns(served, german_credit):
    frame = german_credit.evaluation[served.features]
    ids = [f"request-{i}" for i in range(len(frame))]
    _, scores = _write(served, frame, request_ids=ids)
    labelled = ids[:200]  # labels come for some rows only
    write_labels(served.payloads, labelled, german_credit.evaluation["risk"].to_numpy()[:200])
    (stable,) = _run(served).releases
    assert stable.labelled_rows == 200
    expected = roc_auc_score(german_credit.evaluation["risk"].to_numpy()[:200], scores[:200])
    assert stable.metrics["roc_auc"] == pytest.approx(expected, abs=2e-3)
    assert set(stable.metrics) >= {"roc_auc", "accuracy"}


def test_a_window_with_no_rows_says_so_and_measures_nothing(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=100, seed=3)
    _write(served, frame, at=END.replace(hour=8))  # two hours before the window
    (stable,) = _run(served).releases
    assert stable.rows == 0 and stable.columns == () and stable.prediction is None
    assert "no rows" in (stable.problem or "")


def test_rows_of_another_model_are_never_read(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=500, seed=4)
    _write(served, frame)
    shifted = frame.assign(credit_amount=frame["credit_amount"] * 5)
    _write(served, shifted, model="fraud-score")
    (stable,) = _run(served).releases
    assert stable.rows == 500 and stable.drifted == []


def test_a_column_missing_from_the_payloads_is_drifted_with_the_reason(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=800, seed=5)
    model, _ = scorer(served.version)
    scores = model.predict_proba(frame)[:, 1]
    write_payloads(served.payloads, frame.drop(columns=["duration"]), scores=scores, version=served.version)
    (stable,) = _run(served).releases
    duration = next(c for c in stable.columns if c.name == "duration")
    assert duration.drifted and duration.problem == "missing from the current data"


def test_rows_served_by_another_version_are_counted_apart(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=300, seed=6)
    model, _ = scorer(served.version)
    write_payloads(served.payloads, frame, scores=model.predict_proba(frame)[:, 1], version="999")
    (stable,) = _run(served).releases
    assert stable.rows == 0 and stable.other_version_rows == 300
    assert "300 rows of other versions" in (stable.problem or "")


def test_shadow_is_compared_with_stable_on_the_same_inputs(served, german_credit, demo_versions):
    from modelops.gitops.releases.registered import resolve_release
    from modelops.gitops.releases.transitions import OverlayState, Traffic
    from modelops.gitops.repository import layout as gitops_layout
    from modelops.gitops.repository.overlay_files import write_state

    stable_release, _ = resolve_release(MODEL, served.version)
    candidate_release, _ = resolve_release(MODEL, demo_versions.better)
    overlay = served.root / gitops_layout.overlay_dir(MODEL, "prod")
    texts = {str(p.relative_to(served.root)): p.read_text() for p in overlay.glob("*.yaml")}
    state = OverlayState(stable=stable_release, candidate=candidate_release, traffic=Traffic(100, 0, 50))
    for path, text in write_state(texts, model=MODEL, environment="prod", state=state).items():
        (served.root / path).write_text(text)

    # Requests carry every input; each release reads its own. Half are mirrored, under other ids.
    inputs = [c for c in german_credit.training.columns if c != "risk"]
    frame = live_rows(german_credit.training, inputs, rows=1000, seed=7)
    _, stable_scores = _write(served, frame)
    candidate, _ = scorer(demo_versions.better)
    mirrored = frame.iloc[::2]
    shadow_scores = candidate.predict_proba(mirrored)[:, 1]
    write_payloads(
        served.payloads, mirrored, scores=shadow_scores, version=demo_versions.better, release="candidate"
    )

    stable, shadow = _run(served).releases
    assert stable.rows == 1000 and stable.shadow is None
    assert shadow.release.shadow and shadow.rows == 500
    comparison = shadow.shadow
    assert comparison is not None
    assert comparison.shadow_rows == comparison.matched_rows == 500
    mirrored_stable = stable_scores[::2]
    assert comparison.agreement == pytest.approx(np.mean((shadow_scores >= 0.5) == (mirrored_stable >= 0.5)))
    assert comparison.divergence == pytest.approx(np.mean(np.abs(shadow_scores - mirrored_stable)))
    assert comparison.divergence > 0  # two different models: the comparison measures something
