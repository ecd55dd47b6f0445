"""`evaluation_set` in a model's policy: the pinned holdout, typed and refused in one line when wrong."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from modelops.config import load_model_policy
from modelops.demo.dataset import demo_holdout, holdout_csv, load_german_credit
from modelops.errors import InputError


def _policy(root: Path) -> Path:
    return root / "policies" / "models" / "credit-risk.yaml"


def _refusal(root: Path) -> str:
    with pytest.raises(InputError) as error:
        load_model_policy("credit-risk", root=root)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_the_committed_pin_is_the_demo_holdout_on_this_machine(repo_root):
    """The digest holds wherever the locked environment is installed: the same bytes everywhere."""
    pin = load_model_policy("credit-risk", root=repo_root).evaluation_set
    assert pin is not None and pin.location == "registry" and pin.max_duplicated_rows == 0
    content = holdout_csv(demo_holdout(load_german_credit()))
    assert hashlib.sha256(content).hexdigest() == pin.sha256
    assert content.count(b"\n") == 301 and b"\r" not in content  # header and 300 rows, one line ending


def test_a_policy_still_naming_data_evaluation_is_told_where_the_set_went(project_copy):
    path = _policy(project_copy)
    path.write_text(
        path.read_text().replace("data:\n", "data:\n  evaluation: run:evaluation   # the candidate's own\n")
    )
    message = _refusal(project_copy)
    assert message.startswith(f"{path}: field 'data.evaluation': ")
    assert "the evaluation set is pinned under evaluation_set (location, sha256)" in message
    assert "modelops evaluation-set pin" in message


@pytest.mark.parametrize(
    ("line", "replacement", "field"),
    [
        (r"  sha256: [0-9a-f]{64}", "  sha256: not-a-digest", "evaluation_set.sha256"),
        (r"  sha256: [0-9a-f]{64}", "  sha256: " + "A" * 64, "evaluation_set.sha256"),
        (r"  location: registry", "  location: s3://bucket/holdout.xlsx", "evaluation_set.location"),
        (r"  max_duplicated_rows: 0", "  max_duplicated_rows: -1", "evaluation_set.max_duplicated_rows"),
        (r"  max_duplicated_rows: 0", "  max_duplicated_rows: 0\n  rows: 300", "evaluation_set.rows"),
    ],
)
def test_a_malformed_pin_names_its_field(project_copy, line, replacement, field):
    path = _policy(project_copy)
    path.write_text(re.sub(f"(?m)^{line}", replacement, path.read_text(), count=1))
    assert _refusal(project_copy).startswith(f"{path}: field '{field}': ")


@pytest.mark.parametrize(
    "location", ["registry", "s3://bucket/sets/holdout.parquet", "holdout.csv", "gs://b/x.pq"]
)
def test_a_pin_lives_in_the_registry_or_names_its_file(project_copy, location):
    path = _policy(project_copy)
    path.write_text(path.read_text().replace("  location: registry", f"  location: {location}"))
    pin = load_model_policy("credit-risk", root=project_copy).evaluation_set
    assert pin.location == location and pin.in_registry is (location == "registry")


def test_a_policy_may_pin_nothing_yet(project_copy):
    """Training and registering need no pin; the gate refuses such a model (see the pipeline tests)."""
    path = _policy(project_copy)
    text = path.read_text()
    path.write_text(text[: text.index("evaluation_set:")] + text[text.index("data:") :])
    assert load_model_policy("credit-risk", root=project_copy).evaluation_set is None
