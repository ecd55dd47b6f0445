import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from modelops.config.environment import FairnessPolicy
from modelops.gates import check_fairness

LENIENT = FairnessPolicy(
    max_demographic_parity_difference=1.0,
    max_equalized_odds_difference=1.0,
    min_disparate_impact_ratio=0.0,
    min_group_size=1,
)


def _data(n: int = 20_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = rng.integers(0, 2, n)
    bias = np.select([group == "a", group == "b"], [0.15, 0.0], -0.1)
    pred = (rng.random(n) < 0.45 + 0.3 * y + bias).astype(int)
    return y, pred, group


def test_matches_fairlearn():
    y, pred, group = _data()
    result = check_fairness(y, pred, {"g": group}, policy=LENIENT)
    ours = result.measured["features"][0]
    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=group,
    )
    assert ours["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=group)
    )
    assert ours["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=group)
    )
    assert ours["disparate_impact_ratio"] == pytest.approx(
        demographic_parity_ratio(y, pred, sensitive_features=group)
    )
    by_group = {g["group"]: g for g in ours["groups"]}
    for name, row in frame.by_group.iterrows():
        assert by_group[name]["selection_rate"] == pytest.approx(row["selection_rate"])
        assert by_group[name]["true_positive_rate"] == pytest.approx(row["tpr"])
        assert by_group[name]["false_positive_rate"] == pytest.approx(row["fpr"])
        assert by_group[name]["accuracy"] == pytest.approx(row["accuracy"])


def _measured(y, pred, group):
    return check_fairness(y, pred, {"g": group}, policy=LENIENT).measured["features"][0]


@pytest.mark.parametrize(
    ("field", "measure", "direction"),
    [
        ("max_demographic_parity_difference", "demographic_parity_difference", "max"),
        ("max_equalized_odds_difference", "equalized_odds_difference", "max"),
        ("min_disparate_impact_ratio", "disparate_impact_ratio", "min"),
    ],
)
def test_each_limit_on_both_sides_of_its_boundary(field, measure, direction):
    y, pred, group = _data()
    value = _measured(y, pred, group)[measure]
    ok, bad = (value + 1e-9, value - 1e-6) if direction == "max" else (value - 1e-9, value + 1e-6)
    passing = LENIENT.model_copy(update={field: ok})
    failing = LENIENT.model_copy(update={field: bad})
    assert check_fairness(y, pred, {"g": group}, policy=passing).passed
    result = check_fairness(y, pred, {"g": group}, policy=failing)
    assert not result.passed
    assert measure.replace("_", " ") in result.reasons[0]


def test_minimum_group_size_on_both_sides():
    y, pred, group = _data(2000)
    smallest = int(pd.Series(group).value_counts().min())
    assert check_fairness(
        y, pred, {"g": group}, policy=LENIENT.model_copy(update={"min_group_size": smallest})
    ).passed
    result = check_fairness(
        y, pred, {"g": group}, policy=LENIENT.model_copy(update={"min_group_size": smallest + 1})
    )
    assert not result.passed
    assert "below the minimum group size" in result.reasons[0]


def test_a_single_group_is_insufficient_evidence():
    y, pred, _ = _data(500)
    result = check_fairness(y, pred, {"sex": np.array(["female"] * 500)}, policy=LENIENT)
    assert not result.passed
    assert "only one group" in result.reasons[0]
    assert np.isnan(result.measured["features"][0]["equalized_odds_difference"])  # not a silent 0.0


def test_a_group_with_one_class_is_insufficient_evidence():
    y, pred, group = _data(3000)
    y = np.where(group == "c", 1, y)  # group c has no negative labels
    result = check_fairness(y, pred, {"g": group}, policy=LENIENT)
    assert not result.passed
    assert any("g=c: no negative labels" in reason for reason in result.reasons)


def test_missing_sensitive_values_form_their_own_group():
    y, pred, group = _data(3000)
    group = group.astype(object)
    group[:400] = None
    result = check_fairness(y, pred, {"g": group}, policy=LENIENT)
    names = [g["group"] for g in result.measured["features"][0]["groups"]]
    assert "(missing)" in names
    assert sum(g["count"] for g in result.measured["features"][0]["groups"]) == 3000


def test_every_sensitive_feature_is_judged():
    y, pred, group = _data(3000)
    other = np.where(np.arange(3000) % 2 == 0, "x", "y")
    result = check_fairness(y, pred, {"g": group, "h": other}, policy=LENIENT)
    assert [f["feature"] for f in result.measured["features"]] == ["g", "h"]
