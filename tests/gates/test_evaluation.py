import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from modelops.config.environment import EvaluationPolicy
from modelops.gates import check_evaluation
from modelops.gates.metrics import MAX_LEVELS, point_metrics

METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall")


def _holdout(n: int, seed: int = 0, strength: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.normal(0, 1.2, n))))
    return y, scores


def _policy(**kwargs) -> EvaluationPolicy:
    base = {"minimums": {}, "max_regression": {}, "bootstrap_samples": 300}
    return EvaluationPolicy(**{**base, **kwargs})


@pytest.mark.parametrize("rounding", [None, 2])  # continuous scores, and heavy ties
def test_point_metrics_equal_scikit_learn(rounding):
    y, scores = _holdout(5000)
    if rounding:
        scores = scores.round(rounding)
    ours = dict(zip(METRICS, point_metrics(y, scores, threshold=0.5, names=METRICS), strict=True))
    predicted = scores >= 0.5
    assert ours["roc_auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert ours["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert ours["f1"] == pytest.approx(f1_score(y, predicted))
    assert ours["precision"] == pytest.approx(precision_score(y, predicted))
    assert ours["recall"] == pytest.approx(recall_score(y, predicted))


def test_binned_bootstrap_stays_close_to_the_exact_auc():
    y, scores = _holdout(4 * MAX_LEVELS, seed=3)
    result = check_evaluation(y, scores, metrics=["roc_auc"], policy=_policy(), interval="bootstrap")
    low, high = result.measured["metrics"][0]["challenger_ci"]
    exact = roc_auc_score(y, scores)
    assert low < exact < high
    assert high - low < 0.02  # 40k rows: a narrow interval


def test_minimum_is_judged_on_both_sides_of_the_boundary():
    y, scores = _holdout(2000)
    auc = roc_auc_score(y, scores)
    assert check_evaluation(
        y, scores, metrics=["roc_auc"], policy=_policy(minimums={"roc_auc": auc - 1e-6})
    ).passed
    failed = check_evaluation(
        y, scores, metrics=["roc_auc"], policy=_policy(minimums={"roc_auc": auc + 1e-6})
    )
    assert not failed.passed
    assert "below the minimum" in failed.reasons[0]


def test_regression_is_judged_on_the_interval_not_the_point_estimate():
    y, champion = _holdout(3000, seed=1, strength=1.0)
    rng = np.random.default_rng(9)
    challenger = np.clip(champion + rng.normal(0, 0.08, len(y)), 0, 1)  # about as good, noisier
    probe = check_evaluation(y, challenger, champion, metrics=["roc_auc"], policy=_policy())
    row = probe.measured["metrics"][0]
    delta_low = row["delta_ci"][0]
    assert delta_low < row["delta"] < 0
    allowed_just_enough = _policy(max_regression={"roc_auc": -delta_low + 1e-9})
    allowed_too_little = _policy(max_regression={"roc_auc": -delta_low - 1e-6})
    assert check_evaluation(y, challenger, champion, metrics=["roc_auc"], policy=allowed_just_enough).passed
    blocked = check_evaluation(y, challenger, champion, metrics=["roc_auc"], policy=allowed_too_little)
    assert not blocked.passed
    assert "worse than the champion" in blocked.reasons[0]
    # Allowed more than the point drop but less than the interval's worst case: a point-estimate
    # rule would pass this challenger; the interval rule does not.
    between = _policy(max_regression={"roc_auc": (-row["delta"] - delta_low) / 2})
    assert not check_evaluation(y, challenger, champion, metrics=["roc_auc"], policy=between).passed


def test_without_champion_only_absolute_rules_apply():
    y, scores = _holdout(1000)
    result = check_evaluation(
        y,
        scores,
        None,
        metrics=["roc_auc"],
        policy=_policy(max_regression={"roc_auc": 0.0}, minimums={"roc_auc": 0.6}),
    )
    assert result.passed
    assert result.measured["has_champion"] is False
    assert "delta" not in result.measured["metrics"][0]


def test_same_seed_same_interval():
    y, scores = _holdout(1000)
    first = check_evaluation(y, scores, metrics=["f1"], policy=_policy())
    second = check_evaluation(y, scores, metrics=["f1"], policy=_policy())
    assert first.measured == second.measured


def test_one_class_labels_fail_clearly():
    result = check_evaluation(np.ones(50), np.linspace(0, 1, 50), metrics=["roc_auc"], policy=_policy())
    assert not result.passed
    assert "one class" in result.reasons[0]


def test_empty_holdout_fails_clearly():
    result = check_evaluation(np.array([]), np.array([]), metrics=["roc_auc"], policy=_policy())
    assert not result.passed
    assert "no rows" in result.reasons[0]


def test_non_finite_scores_fail():
    y, scores = _holdout(100)
    scores[3] = np.nan
    result = check_evaluation(y, scores, metrics=["roc_auc"], policy=_policy())
    assert not result.passed


def test_the_report_names_the_method_behind_each_interval():
    y, champion = _holdout(2000, seed=4)
    challenger = np.clip(champion + np.random.default_rng(5).normal(0, 0.3, len(y)), 0, 1)  # worse
    policy = _policy(max_regression={"roc_auc": 0.0, "accuracy": 0.0})
    result = check_evaluation(y, challenger, champion, metrics=["roc_auc", "accuracy"], policy=policy)
    assert result.measured["interval"] == "delong"
    methods = {row["metric"]: row["interval_method"] for row in result.measured["metrics"]}
    assert methods == {"roc_auc": "delong", "accuracy": "bootstrap"}
    assert "95% DeLong interval of challenger - champion" in result.reasons[0]
    assert "95% bootstrap (300 paired resamples) interval" in result.reasons[1]
    reference = check_evaluation(
        y, challenger, champion, metrics=["roc_auc"], policy=policy, interval="bootstrap"
    )
    assert reference.measured["metrics"][0]["interval_method"] == "bootstrap"


def test_confusion_metrics_drawn_as_cell_counts_match_the_row_bootstrap():
    """Multinomial cell counts are the row bootstrap's own distribution: the intervals agree up to
    Monte Carlo error (at 2,000 resamples, a few percent of the width)."""
    y, champion = _holdout(3000, seed=6)
    challenger = np.clip(champion + np.random.default_rng(7).normal(0, 0.1, len(y)), 0, 1)
    names = ["accuracy", "precision", "recall", "f1"]
    policy = _policy(bootstrap_samples=2000)
    cells, rows = (
        check_evaluation(y, challenger, champion, metrics=names, policy=policy, interval=method)
        for method in ("delong", "bootstrap")
    )
    for ours, reference in zip(cells.measured["metrics"], rows.measured["metrics"], strict=True):
        assert ours["challenger"] == reference["challenger"]  # point estimates do not resample
        for key in ("challenger_ci", "delta_ci"):
            width = reference[key][1] - reference[key][0]
            assert ours[key] == [pytest.approx(bound, abs=0.1 * width) for bound in reference[key]]


def test_delong_interval_of_the_challenger_alone_brackets_its_auc():
    y, scores = _holdout(5000, seed=8)
    row = check_evaluation(y, scores, metrics=["roc_auc"], policy=_policy()).measured["metrics"][0]
    low, high = row["challenger_ci"]
    assert low < roc_auc_score(y, scores) < high
    assert high - low < 0.04


def test_an_undefined_interval_fails_the_regression_rule_rather_than_passing_it():
    y = np.array([1, 0, 0, 0, 0, 0])  # one positive row: no variance can be estimated
    scores = np.array([0.9, 0.1, 0.2, 0.3, 0.4, 0.5])
    policy = _policy(max_regression={"roc_auc": 0.05})
    result = check_evaluation(y, scores, scores, metrics=["roc_auc"], policy=policy)
    assert not result.passed
    assert "undefined" in result.reasons[0]


def test_an_unknown_interval_method_is_a_programming_error():
    y, scores = _holdout(100)
    with pytest.raises(ValueError, match="interval must be one of delong, bootstrap"):
        check_evaluation(y, scores, metrics=["roc_auc"], policy=_policy(), interval="jackknife")


def test_an_unknown_metric_is_a_programming_error():
    y, scores = _holdout(100)
    with pytest.raises(ValueError, match="unknown metric gini"):
        check_evaluation(y, scores, metrics=["roc_auc", "gini"], policy=_policy())
