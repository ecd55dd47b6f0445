"""Known pin: evidently 0.7 does not import under pandas 3. This fails loudly if the pin slips."""

import pandas as pd


def test_pandas_is_below_3():
    assert int(pd.__version__.split(".")[0]) < 3


def test_evidently_imports_and_builds_a_drift_report():
    from evidently import Report
    from evidently.presets import DataDriftPreset

    frame = pd.DataFrame({"x": [float(i % 7) for i in range(60)], "c": ["a", "b", "c"] * 20})
    snapshot = Report([DataDriftPreset()]).run(current_data=frame, reference_data=frame)
    assert "DriftedColumnsCount" in snapshot.json()
