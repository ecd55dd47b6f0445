"""Loading a pinned evaluation set from the registry or the object store, verified by sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from modelops.config import EvaluationSetPin
from modelops.errors import InputError
from modelops.registry.evaluation_sets import load_evaluation_set


@pytest.fixture()
def holdout(tmp_path: Path) -> Path:
    path = tmp_path / "store" / "holdout.parquet"
    path.parent.mkdir()
    pd.DataFrame(
        {"risk": [1, 0, 1], "sex": ["male", "female", "male"], "age": [30.0, 41.0, 22.0]}
    ).to_parquet(path, index=False)
    return path


def _load(location: str, sha256: str, tmp_path: Path):
    return load_evaluation_set(
        EvaluationSetPin(location=location, sha256=sha256),
        model="credit-risk",
        root=tmp_path,
        destination=tmp_path / "scratch",
        policy_file=tmp_path / "credit-risk.yaml",
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_uri_is_downloaded_through_mlflows_artifact_layer(holdout, tmp_path):
    uri = holdout.as_uri()  # file://: the same route as s3:// or gs://
    loaded = _load(uri, _sha256(holdout), tmp_path)
    assert loaded.source == uri and loaded.location == uri
    pd.testing.assert_frame_equal(loaded.frame, pd.read_parquet(holdout))
    assert (tmp_path / "scratch" / "holdout.parquet").is_file()  # a copy was verified, not the original


def test_a_repository_path_is_read_from_the_root(holdout, tmp_path):
    loaded = _load("store/holdout.parquet", _sha256(holdout), tmp_path)
    assert loaded.source == str(holdout) and len(loaded.frame) == 3


def test_other_bytes_are_refused_before_they_are_parsed(holdout, tmp_path):
    pinned = _sha256(holdout)
    holdout.write_bytes(holdout.read_bytes() + b"\0")  # no longer a readable parquet file either
    with pytest.raises(InputError) as error:
        _load(holdout.as_uri(), pinned, tmp_path)
    assert str(error.value) == (
        f"{tmp_path / 'credit-risk.yaml'}: field 'evaluation_set.sha256': the evaluation set at "
        f"{holdout.as_uri()} has sha256 {_sha256(holdout)}, the policy pins {pinned}"
    )


@pytest.mark.parametrize("location", ["store/missing.csv", "file:///nowhere/missing.csv"])
def test_a_set_that_is_not_there_names_the_location_field(tmp_path, location):
    with pytest.raises(InputError) as error:
        _load(location, "ab" * 32, tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'credit-risk.yaml'}: field 'evaluation_set.location': ")
    assert "missing.csv" in message and "\n" not in message
