from datetime import UTC, datetime, timedelta, timezone

import pytest

from modelops.payloads.layout import labels_folder, output_column, partition_folder


def test_partitions_are_by_utc_hour_whatever_zone_the_time_is_given_in():
    at = datetime(2026, 12, 7, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert partition_folder(model="credit-risk", release="stable", at=at) == (
        "model=credit-risk/release=stable/date=2026-12-06/hour=23"
    )
    assert labels_folder(model="credit-risk", at=at) == "labels/model=credit-risk/date=2026-12-06"


@pytest.mark.parametrize(
    ("model", "release"),
    [("../escape", "stable"), ("Credit", "stable"), ("credit-risk", "blue"), ("credit-risk", "../stable")],
)
def test_a_name_that_could_leave_its_folder_or_is_no_release_is_refused(model, release):
    with pytest.raises(ValueError):
        partition_folder(model=model, release=release, at=datetime.now(UTC))


def test_a_naive_time_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="timezone-aware"):
        partition_folder(model="credit-risk", release="stable", at=datetime(2026, 12, 7))


def test_output_columns_name_the_output_and_its_column():
    assert output_column("predict") == "_output.predict"
    assert output_column("predict_proba", 1) == "_output.predict_proba.1"
