"""The human-readable drift report, rendered by evidently on a sample.

evidently is imported here only: importing it takes seconds and its `run()` takes
minutes at a million rows, so the decision is made elsewhere and this report is
drawn on at most `sample_rows` rows per side.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from modelops.reports.files import temporary_beside


def _sample(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    return frame.sample(n=rows, random_state=0) if len(frame) > rows else frame


def write_drift_html(reference: pd.DataFrame, current: pd.DataFrame, path: Path, *, sample_rows: int) -> Path:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    report = Report([DataDriftPreset()])
    snapshot = report.run(
        current_data=_sample(current, sample_rows), reference_data=_sample(reference, sample_rows)
    )
    descriptor, temporary = temporary_beside(path)
    os.close(descriptor)
    try:
        snapshot.save_html(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
