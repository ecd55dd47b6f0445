"""`modelops check fairness|evaluation|drift`: the input contract.

Each unusable file or option exits 2 with one line naming the file and the column (or the option)
at fault, never a traceback and never a gate that fails on input nobody meant.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.test_check import frames, predictions
from tests.cli_runner import invoke


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0].removeprefix("error: ")


def _scored(tmp_path, name: str = "scored.parquet", **columns) -> object:
    """The fairness holdout with some columns replaced."""
    frame = pd.read_parquet(predictions(tmp_path))
    for column, values in columns.items():
        frame[column] = values(frame) if callable(values) else values
    path = tmp_path / name
    frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path)
    return path


COMMANDS = {
    "fairness": ["--label", "label", "--prediction", "score", "--sensitive", "sex"],
    "evaluation": ["--label", "label", "--challenger", "score"],
}


def _check(command: str, data, *extra):
    return invoke("check", command, "--data", data, *COMMANDS[command], *extra)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("labels", "extra", "message"),
    [
        (
            lambda f: np.where(f["label"] == 1, "good", "bad"),
            [],
            "column 'label' holds values outside the classes [0, 1]: ",
        ),
        (
            lambda f: np.where(f.index < 7, f.index + 2, f["label"]),
            [],
            "column 'label' holds values outside the classes [0, 1]: 2, 3, 4, 5, 6 (and 2 more)",
        ),
        (lambda f: f["label"] == 1, [], "column 'label' holds booleans, not the classes [0, 1]"),
        (
            lambda f: f["label"],
            ["--positive-class", "2"],
            "positive class 2 is not one of the classes [0, 1]",
        ),
        (lambda f: 0 * f["label"], [], "positive class 1 does not occur in column 'label'"),
        (
            lambda f: np.where(f["label"] == 1, "good", "bad"),
            ["--classes", "bad,good", "--positive-class", "great"],
            "positive class 'great' is not one of the classes ['bad', 'good']",
        ),
    ],
    ids=[
        "text",
        "a third class",
        "booleans",
        "positive class no class",
        "positive class absent",
        "text named",
    ],
)
def test_labels_must_be_the_two_classes(tmp_path, command, labels, extra, message):
    data = _scored(tmp_path, label=labels)
    assert _one_error_line(_check(command, data, *extra)).startswith(f"{data}: {message}")


@pytest.mark.parametrize("command", COMMANDS)
def test_text_classes_are_named_with_classes(tmp_path, command):
    numeric = _check(command, predictions(tmp_path), "--json")
    text = _scored(tmp_path, label=lambda f: np.where(f["label"] == 1, "good", "bad"))
    named = _check(command, text, "--classes", "bad,good", "--json")  # the positive class: the second
    assert named.exit_code == numeric.exit_code == 0, named.output
    assert json.loads(named.stdout) == json.loads(numeric.stdout)


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ("0,1,2", "--classes: give the label's two classes, comma-separated, not '0,1,2'"),
        ("1", "--classes: give the label's two classes, comma-separated, not '1'"),
        ("1,1", "--classes: give the label's two classes, comma-separated, not '1,1'"),
    ],
)
def test_classes_must_be_two(tmp_path, classes, message):
    assert _one_error_line(_check("fairness", predictions(tmp_path), "--classes", classes)) == message


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (
            lambda f: np.where(f["score"] > 0.5, "yes", "no"),
            "column 'score' holds values that are not numbers: ",
        ),
        (
            lambda f: f["score"] > 0.5,
            "column 'score' holds booleans, not scores in [0, 1] or predicted labels 0/1",
        ),
        (lambda f: f["score"] * 2, "column 'score' holds values outside [0, 1]: "),
        (lambda f: np.where(f.index == 3, 2, f["label"]), "column 'score' holds values outside [0, 1]: 2"),
        (
            lambda f: np.where(f.index == 3, np.inf, f["score"]),
            "column 'score' holds values outside [0, 1]: inf",
        ),
    ],
    ids=["text", "booleans", "scores above 1", "a third predicted label", "infinite"],
)
def test_predictions_must_be_scores_or_labels_0_1(tmp_path, command, scores, message):
    data = _scored(tmp_path, score=scores)
    assert _one_error_line(_check(command, data)).startswith(f"{data}: {message}")


def test_a_champion_of_text_is_unusable_too(tmp_path):
    data = _scored(tmp_path, champion=lambda f: np.where(f["champion"] > 0.5, "yes", "no"))
    line = _one_error_line(_check("evaluation", data, "--champion", "champion"))
    assert line.startswith(f"{data}: column 'champion' holds values that are not numbers: ")


@pytest.mark.parametrize("command", COMMANDS)
def test_predicted_labels_0_1_are_predictions_of_the_positive_class(tmp_path, command):
    """1 is the positive class, whichever the label's classes are, like a score of 1.0."""
    hard = _scored(tmp_path, score=lambda f: (f["score"] >= 0.5).astype("int64"))
    as_scores = _scored(tmp_path, "as-scores.parquet", score=lambda f: (f["score"] >= 0.5).astype(float))
    text = _scored(
        tmp_path,
        "text.parquet",
        label=lambda f: np.where(f["label"] == 1, "good", "bad"),
        score=lambda f: (f["score"] >= 0.5).astype("int64"),
    )
    reports = [
        json.loads(_check(command, data, *extra, "--json").stdout)
        for data, extra in ((hard, []), (as_scores, []), (text, ["--classes", "bad,good"]))
    ]
    assert reports[0] == reports[1] == reports[2]


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("fairness", ["--label", "label", "--prediction", "label", "--sensitive", "sex"]),
        ("evaluation", ["--label", "label", "--challenger", "label"]),
        ("evaluation", ["--label", "label", "--challenger", "score", "--champion", "label"]),
    ],
    ids=["prediction", "challenger", "champion"],
)
def test_the_label_column_is_no_prediction(tmp_path, command, arguments):
    data = predictions(tmp_path)
    option = arguments[arguments.index("label", 2) - 1]
    line = _one_error_line(invoke("check", command, "--data", data, *arguments))
    assert line == f"{data}: column 'label' is the label (--label), so it cannot be {option}"


def test_a_duplicated_column_is_unusable_not_renamed(tmp_path):
    data = tmp_path / "scored.csv"
    frame = pd.read_parquet(predictions(tmp_path))
    frame.to_csv(data, index=False)
    data.write_text(data.read_text().replace("champion", "score", 1))  # header: label,score,score,sex
    for command in COMMANDS:
        assert _one_error_line(_check(command, data)) == f"{data}: duplicated column name(s) 'score'"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_with_only_a_header_has_no_rows(tmp_path, suffix):
    data = tmp_path / f"header-only{suffix}"
    empty = pd.read_parquet(predictions(tmp_path)).iloc[0:0]
    empty.to_csv(data, index=False) if suffix == ".csv" else empty.to_parquet(data)
    for command in COMMANDS:
        assert _one_error_line(_check(command, data)) == f"{data}: the data has no rows"
    reference, _ = frames(tmp_path)
    drift = invoke("check", "drift", "--reference", reference, "--current", data)
    assert _one_error_line(drift) == f"{data}: the data has no rows"


def test_infinite_values_fail_the_drift_check(tmp_path):
    reference, current = frames(tmp_path)
    frame = pd.read_csv(current)
    frame.loc[:19, "amount"] = [np.inf, -np.inf] * 10  # 20 of 3,000 rows: below the missing-value rise limit
    frame.to_csv(current, index=False)
    result = invoke("check", "drift", "--reference", reference, "--current", current, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["reasons"][0] == "column amount holds infinite values: 20 in the current data"
    amount = next(c for c in report["columns"] if c["name"] == "amount")
    assert amount["drifted"] and amount["current_missing_share"] == 0.0  # infinite is not missing


@pytest.mark.parametrize("name", ["../environments/prod", "prod.yaml", "/etc/hostname", "environments/prod"])
@pytest.mark.parametrize("command", ["drift", "fairness", "evaluation"])
def test_env_takes_the_name_of_an_environment_never_a_path(tmp_path, command, name):
    reference, current = frames(tmp_path)
    data = predictions(tmp_path)
    arguments = (
        ["--reference", reference, "--current", current]
        if command == "drift"
        else ["--data", data, *COMMANDS[command]]
    )
    line = _one_error_line(invoke("check", command, *arguments, "--env", name))
    assert line.endswith(f"environments: no such environment '{name}' (known: dev, local, prod, staging)")
