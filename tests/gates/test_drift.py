import numpy as np
import pandas as pd
import pytest
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType
from scipy import stats

from modelops.config.environment import DriftPolicy
from modelops.gates import check_drift
from modelops.gates.drift_methods import few_value_counts, few_values, merge_sorted, wasserstein_sorted

POLICY = DriftPolicy(max_drifted_share=0.5)


def _frame(n: int, seed: int, shift: float = 0.0, cat_p=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50 + shift * 10, 10, n),
            "score": rng.gamma(2.0, 2.0 + shift, n),
            "region": rng.choice(["north", "south", "east"], n, p=list(cat_p)),
            "flag": rng.choice(["yes", "no"], n, p=[0.3 + shift / 4, 0.7 - shift / 4]),
            "children": rng.integers(0, 4, n).astype(float),  # numeric with few values
        }
    )


def _evidently_verdicts(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, tuple[str, bool]]:
    verdicts = {}
    for column in reference.columns:
        kind = (
            ColumnType.Numerical
            if pd.api.types.is_numeric_dtype(reference[column])
            else ColumnType.Categorical
        )
        test = get_stattest(reference[column], current[column], kind, None)
        verdicts[column] = (test.name, test(reference[column], current[column], kind, None).drifted)
    return verdicts


@pytest.mark.parametrize("rows", [800, 5000])  # evidently's small-sample and large-sample methods
@pytest.mark.parametrize("shift", [0.0, 0.6])
def test_verdicts_match_evidently_column_by_column(rows, shift):
    reference, current = _frame(rows, 1), _frame(rows, 2, shift=shift)
    ours = {c["name"]: c for c in check_drift(reference, current, policy=POLICY).measured["columns"]}
    for column, (method, drifted) in _evidently_verdicts(reference, current).items():
        if method == "chisquare":
            continue  # deliberately a two-sample test here; see the test below
        assert ours[column]["drifted"] == drifted, (column, method)


def test_small_sample_categories_use_the_two_sample_chi_square():
    reference, current = _frame(700, 1), _frame(300, 2, cat_p=(0.4, 0.3, 0.3))
    column = next(
        c for c in check_drift(reference, current, policy=POLICY).measured["columns"] if c["name"] == "region"
    )
    table = pd.crosstab(
        pd.concat([reference["region"], current["region"]]), np.r_[np.zeros(700), np.ones(300)]
    ).to_numpy()
    assert column["method"] == "chi-square p-value"
    assert column["score"] == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)


def test_identically_distributed_columns_are_not_drifted_at_scale():
    reference, current = _frame(300_000, 1), _frame(300_000, 2)
    result = check_drift(reference, current, policy=POLICY)
    assert result.passed
    assert not any(c["drifted"] for c in result.measured["columns"])
    assert {c["method"] for c in result.measured["columns"]} == {
        "Wasserstein (normed)",
        "Jensen-Shannon distance (bias-corrected)",
    }


def test_wasserstein_from_sorted_arrays_equals_scipy_for_unequal_sizes():
    rng = np.random.default_rng(0)
    a, b = np.sort(rng.normal(0, 1, 3001)), np.sort(rng.normal(0.2, 1.3, 1777))
    assert wasserstein_sorted(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-10)
    assert merge_sorted(a, b).size == a.size + b.size


def test_few_values_are_counted_as_numpy_counts_them():
    rng = np.random.default_rng(0)
    a = np.sort(rng.integers(0, 4, 10_000).astype(float))
    b = np.sort(rng.integers(1, 5, 7_000).astype(float))
    values = np.union1d(a, b)  # 0 to 4: five values together
    ref_counts, cur_counts = few_value_counts(a, b, at_most=5)
    assert ref_counts.tolist() == [int(np.sum(a == v)) for v in values]
    assert cur_counts.tolist() == [int(np.sum(b == v)) for v in values]
    assert few_value_counts(a, b, at_most=4) is None
    assert few_values(np.sort(rng.normal(size=1000)), at_most=5) is None


def test_a_missing_column_is_reported_not_dropped():
    reference, current = _frame(2000, 1), _frame(2000, 2).drop(columns=["income"])
    result = check_drift(reference, current, policy=POLICY)
    assert not result.passed
    assert "column income missing from the current data" in result.reasons
    income = next(c for c in result.measured["columns"] if c["name"] == "income")
    assert income["drifted"] and income["problem"]


def test_a_nan_flooded_column_is_reported():
    reference, current = _frame(2000, 1), _frame(2000, 2)
    current.loc[current.index[:1500], "score"] = np.nan
    result = check_drift(reference, current, policy=POLICY)
    assert not result.passed
    assert any(r.startswith("column score missing values rose from 0% to 75%") for r in result.reasons)


def test_missing_value_rise_on_both_sides_of_the_limit():
    reference, current = _frame(2000, 1), _frame(2000, 2)
    current.loc[current.index[:200], "region"] = None  # 10% missing
    at_limit = check_drift(
        reference, current, policy=POLICY.model_copy(update={"max_missing_share_increase": 0.10})
    )
    assert at_limit.passed
    over = check_drift(
        reference, current, policy=POLICY.model_copy(update={"max_missing_share_increase": 0.09})
    )
    assert not over.passed


def test_a_column_that_changed_kind_is_reported():
    reference, current = _frame(2000, 1), _frame(2000, 2)
    current["income"] = current["income"].astype(str)
    result = check_drift(reference, current, policy=POLICY)
    assert any("numerical in the reference but categorical" in r for r in result.reasons)


def test_drifted_share_on_both_sides_of_the_limit():
    reference, current = _frame(5000, 1), _frame(5000, 2, shift=1.0)
    share = check_drift(reference, current, policy=POLICY).measured["drifted_share"]
    assert 0 < share < 1
    assert check_drift(
        reference, current, policy=POLICY.model_copy(update={"max_drifted_share": share})
    ).passed
    blocked = check_drift(
        reference, current, policy=POLICY.model_copy(update={"max_drifted_share": share - 0.01})
    )
    assert not blocked.passed
    assert "columns drifted" in blocked.reasons[0]


@pytest.mark.parametrize("side", ["reference", "current"])
def test_an_empty_frame_fails_clearly(side):
    frames = {"reference": _frame(100, 1), "current": _frame(100, 2)}
    frames[side] = frames[side].iloc[0:0]
    result = check_drift(frames["reference"], frames["current"], policy=POLICY)
    assert not result.passed
    assert result.reasons == (f"the {side} data has no rows",)


def test_extra_current_columns_are_listed():
    reference, current = _frame(500, 1), _frame(500, 2).assign(new_feature=1.0)
    assert check_drift(reference, current, policy=POLICY).measured["extra_columns"] == ["new_feature"]


@pytest.mark.parametrize("rows", [800, 5000])  # the K-S path and the Wasserstein path
def test_infinite_values_are_a_finding_not_missing_values(rows):
    reference, current = _frame(rows, 1), _frame(rows, 2)
    current.loc[current.index[:3], "income"] = [np.inf, -np.inf, np.inf]  # far below the missing-value limit
    result = check_drift(reference, current, policy=POLICY)
    assert not result.passed
    assert result.reasons == ("column income holds infinite values: 3 in the current data",)
    income = next(c for c in result.measured["columns"] if c["name"] == "income")
    assert income["drifted"] and income["method"] == "not tested"
    assert income["current_missing_share"] == 0.0  # infinite is a value, not a missing one


def test_infinite_values_on_both_sides_are_counted_per_side():
    reference, current = _frame(2000, 1), _frame(2000, 2)
    reference.loc[reference.index[:2], "children"] = -np.inf  # the few-valued numeric path too
    current.loc[current.index[:5], "children"] = np.inf
    result = check_drift(reference, current, policy=POLICY)
    assert "column children holds infinite values: 2 in the reference data and 5 in the current data" in (
        result.reasons
    )


def test_missing_values_stay_missing_next_to_infinite_ones():
    reference, current = _frame(2000, 1), _frame(2000, 2)
    current.loc[current.index[:100], "score"] = np.nan
    result = check_drift(reference, current, policy=POLICY)
    assert result.passed  # 5% missing: within the allowed rise, and no infinite value


def _text_as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame.select_dtypes(include="object").columns
    return frame.astype({column: "category" for column in text})


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_text_read_as_categories_gets_the_verdicts_and_scores_of_text(shift):
    reference, current = _frame(5000, 1), _frame(5000, 2, shift=shift)
    current.loc[current.index[:400], "region"] = None  # 8% missing: a share to compare as well
    as_text = check_drift(reference, current, policy=POLICY).measured["columns"]
    for pair in [
        (_text_as_categories(reference), _text_as_categories(current)),
        (_text_as_categories(reference), current),  # a parquet reference and a csv current
    ]:
        columns = check_drift(*pair, policy=POLICY).measured["columns"]
        assert [c["drifted"] for c in columns] == [c["drifted"] for c in as_text]
        assert [c["score"] for c in columns] == pytest.approx([c["score"] for c in as_text], rel=1e-12)
        assert [c["current_missing_share"] for c in columns] == [c["current_missing_share"] for c in as_text]


def test_categories_of_numbers_and_of_text_are_compared_as_values():
    reference = pd.DataFrame({"grade": pd.Categorical(np.repeat([1, 2, 3], 1000))})
    current = pd.DataFrame({"grade": pd.Categorical(np.repeat(["1", "2", "3"], 1000))})
    column = check_drift(reference, current, policy=POLICY).measured["columns"][0]
    assert column["drifted"]  # 1 and "1" are different values, as they are in a plain column
