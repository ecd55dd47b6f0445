"""`modelops check drift|fairness|evaluation` on local files: JSON contract and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli_runner import invoke


def frames(tmp_path, shift: float = 0.0, rows: int = 3000):
    def frame(offset: float, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                "amount": rng.normal(100 + offset * 20, 20, rows),
                "term": rng.gamma(3, 4 + offset * 4, rows),
                "purpose": rng.choice(["car", "tv", "education"], rows, p=[0.5, 0.3, 0.2]),
            }
        )

    reference, current = tmp_path / "reference.parquet", tmp_path / "current.csv"
    frame(0, 1).to_parquet(reference)
    frame(shift, 2).to_csv(current, index=False)
    return reference, current


def test_drift_json_contract_and_pass(tmp_path):
    reference, current = frames(tmp_path)
    result = invoke("check", "drift", "--reference", reference, "--current", current, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True and report["reasons"] == []
    assert [c["name"] for c in report["columns"]] == ["amount", "term", "purpose"]
    for column in report["columns"]:
        assert {"name", "drifted", "method", "score", "threshold"} <= set(column)


def test_drift_fails_with_exit_1_and_reasons(tmp_path):
    reference, current = frames(tmp_path, shift=1.0)
    result = invoke("check", "drift", "--reference", reference, "--current", current, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert "columns drifted" in report["reasons"][0]


def test_drift_table_output_for_people(tmp_path):
    reference, current = frames(tmp_path, shift=1.0)
    result = invoke("check", "drift", "--reference", reference, "--current", current, "--env", "prod")
    assert result.exit_code == 1
    assert "Wasserstein" in result.stdout and "FAILED drift" in result.stdout


def test_drift_reads_the_chosen_columns_and_still_lists_the_extra_ones(tmp_path):
    reference, current = frames(tmp_path)
    frame = pd.read_csv(current).drop(columns="term").assign(channel="web")
    frame.to_csv(current, index=False)
    result = invoke(
        "check",
        "drift",
        "--reference",
        reference,
        "--current",
        current,
        "--columns",
        "purpose,term",
        "--json",
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert [c["name"] for c in report["columns"]] == ["purpose", "term"]
    assert report["reasons"][0] == "column term missing from the current data"
    assert report["extra_columns"] == ["channel"]


def test_drift_writes_the_html_report(tmp_path):
    reference, current = frames(tmp_path, rows=300)
    html = tmp_path / "drift.html"
    result = invoke("check", "drift", "--reference", reference, "--current", current, "--html", html)
    assert result.exit_code == 0
    assert html.read_text(errors="ignore").lstrip().lower().startswith("<!doctype html")


def test_a_missing_file_exits_2_with_one_line(tmp_path):
    reference, _ = frames(tmp_path)
    result = invoke("check", "drift", "--reference", reference, "--current", tmp_path / "nope.parquet")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'nope.parquet'}: file not found"


def test_an_unreadable_file_exits_2(tmp_path):
    reference, _ = frames(tmp_path)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    result = invoke("check", "drift", "--reference", reference, "--current", broken, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["passed"] is False
    assert "broken.parquet: unreadable" in result.stderr


def test_an_unknown_environment_exits_2(tmp_path):
    reference, current = frames(tmp_path)
    result = invoke("check", "drift", "--reference", reference, "--current", current, "--env", "qa")
    assert result.exit_code == 2
    assert "no such environment 'qa'" in result.output


def predictions(tmp_path, rows: int = 2000, *, bias: float = 0.0, groups=("f", "m")):
    rng = np.random.default_rng(3)
    sex = rng.choice(list(groups), rows)
    label = rng.integers(0, 2, rows)
    favoured = sex == groups[-1]
    score = np.clip(0.35 + 0.3 * label + rng.normal(0, 0.15, rows) + np.where(favoured, bias, -bias), 0, 1)
    champion = np.clip(0.4 + 0.2 * label + rng.normal(0, 0.2, rows), 0, 1)
    path = tmp_path / "holdout.parquet"
    pd.DataFrame({"label": label, "score": score, "champion": champion, "sex": sex}).to_parquet(path)
    return path


def test_fairness_passes_and_fails_by_policy(tmp_path):
    fair = predictions(tmp_path)
    args = [
        "check",
        "fairness",
        "--data",
        fair,
        "--label",
        "label",
        "--prediction",
        "score",
        "--sensitive",
        "sex",
    ]
    assert invoke(*args, "--json").exit_code == 0
    unfair = predictions(tmp_path, bias=0.25)
    result = invoke(*[a if a != fair else unfair for a in args], "--json")
    assert result.exit_code == 1
    assert any("four-fifths" in r for r in json.loads(result.stdout)["reasons"])


def test_fairness_single_group_is_a_clear_gate_failure(tmp_path):
    data = predictions(tmp_path, groups=("f",))
    result = invoke(
        "check", "fairness", "--data", data, "--label", "label", "--prediction", "score", "--sensitive", "sex"
    )
    assert result.exit_code == 1
    assert "only one group" in result.stdout


def test_fairness_group_with_one_class_is_a_clear_gate_failure(tmp_path):
    data = predictions(tmp_path)
    frame = pd.read_parquet(data)
    frame.loc[frame["sex"] == "f", "label"] = 1
    frame.to_parquet(data)
    result = invoke(
        "check",
        "fairness",
        "--data",
        data,
        "--label",
        "label",
        "--prediction",
        "score",
        "--sensitive",
        "sex",
        "--json",
    )
    assert result.exit_code == 1
    assert (
        "sex=f: no negative labels, so its error rates are undefined" in json.loads(result.stdout)["reasons"]
    )


def test_fairness_missing_column_exits_2(tmp_path):
    data = predictions(tmp_path)
    result = invoke(
        "check",
        "fairness",
        "--data",
        data,
        "--label",
        "label",
        "--prediction",
        "score",
        "--sensitive",
        "race",
    )
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {data}: column(s) race not found"


def test_evaluation_with_and_without_champion(tmp_path):
    data = predictions(tmp_path)
    base = ["check", "evaluation", "--data", data, "--label", "label", "--challenger", "score", "--json"]
    alone = invoke(*base)
    assert alone.exit_code == 0, alone.output
    assert json.loads(alone.stdout)["has_champion"] is False
    against = invoke(*base, "--champion", "champion")
    report = json.loads(against.stdout)
    assert against.exit_code == 0
    assert [m["metric"] for m in report["metrics"]] == ["roc_auc", "accuracy"]  # the policy's metrics
    assert report["metrics"][0]["delta_ci"][0] > 0


def test_evaluation_regression_exits_1(tmp_path):
    data = predictions(tmp_path)
    result = invoke(
        "check",
        "evaluation",
        "--data",
        data,
        "--label",
        "label",
        "--challenger",
        "champion",
        "--champion",
        "score",
        "--env",
        "prod",
    )
    assert result.exit_code == 1
    assert "worse than the champion" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metrics", "roc_auc,gini"], "unknown metric(s) gini"),
        (["--label", "nope"], "column(s) nope not found"),
    ],
)
def test_evaluation_bad_arguments_exit_2(tmp_path, extra, message):
    data = predictions(tmp_path)
    args = ["check", "evaluation", "--data", data, "--label", "label", "--challenger", "score", *extra]
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_missing_labels_exit_2(tmp_path):
    data = predictions(tmp_path)
    frame = pd.read_parquet(data)
    frame["label"] = frame["label"].astype(float)
    frame.loc[:5, "label"] = np.nan
    frame.to_parquet(data)
    result = invoke("check", "evaluation", "--data", data, "--label", "label", "--challenger", "score")
    assert result.exit_code == 2
    assert "6 missing value(s) in column 'label'" in result.output
