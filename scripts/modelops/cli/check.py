"""`modelops check drift|fairness|evaluation`: one gate on local files, for people and tools."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import typer
from rich.table import Table

from modelops.cli.common import (
    console,
    emit_json,
    environment_policy,
    exit_for,
    input_errors,
    split_columns,
    steps,
    verdict_line,
)
from modelops.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(help="Run one gate on local parquet or csv files.", no_args_is_help=True)

ENV_HELP = "Environment whose promotion policy supplies the thresholds."
JSON_HELP = "Print one JSON object (passed, reasons, measured values) instead of tables."
CLASSES_HELP = "The label's two classes, comma-separated; numbers are read as numbers."
POSITIVE_HELP = "The positive (favourable) class; default: the second of --classes."
# Predictions are on the positive class's scale whatever the label's classes are, as a model's
# predict_proba column is: a predicted label 1 is the score 1.0.
PREDICTIONS = "positive-class scores in [0, 1], or predicted labels (1: the positive class, 0: the other)"


def _class(text: str) -> int | str:
    return int(text) if text.lstrip("-").isdigit() else text


def _classes(classes: str, positive_class: str | None) -> tuple[tuple[int | str, int | str], int | str]:
    """The label's two classes and the positive one, as the command line gives them."""
    named = [_class(part) for part in split_columns(classes)]
    if len(named) != 2 or named[0] == named[1]:
        raise InputError(f"--classes: give the label's two classes, comma-separated, not '{classes}'")
    return (named[0], named[1]), named[1] if positive_class is None else _class(positive_class)


def _not_the_label(label: str, where: str, **predictions: str | None) -> None:
    for option, column in predictions.items():
        if column == label:
            raise InputError(f"{where}: column '{label}' is the label (--label), so it cannot be --{option}")


def _drift_frames(
    reference: Path, current: Path, chosen: list[str] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The columns the drift gate reads: the checked ones, and those of the current file the
    reference lacks (the gate lists them). Text is read as categories: the gate compares values.
    The two files are read at once: much of a read is waiting on pages of the file and of memory."""
    from modelops.data import read_frame, read_header, require_columns

    wanted = None
    if chosen:
        known = set(read_header(reference))
        wanted = [*chosen, *(name for name in read_header(current) if name not in known)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        reading = pool.submit(read_frame, reference, columns=chosen, text_as_categories=True)
        current_frame = pool.submit(read_frame, current, columns=wanted, text_as_categories=True)
        reference_frame = reading.result()  # the reference's errors first, as before
        if chosen:
            require_columns(reference_frame, chosen, str(reference))
        return reference_frame, current_frame.result()


@app.command("drift")
def drift(
    reference: Path = typer.Option(..., help="Reference data: training data or a production sample."),
    current: Path = typer.Option(..., help="Current data to compare with the reference."),
    columns: str = typer.Option(
        None, help="Comma-separated columns to check (default: all reference columns)."
    ),
    html: Path = typer.Option(None, help="Also write evidently's HTML report here."),
    env: str = typer.Option("local", help=ENV_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Compare column sets, missing values and distributions; fail above the drifted share."""
    from modelops.gates import check_drift
    from modelops.gates.result import fmt

    with input_errors(as_json=as_json):
        policy = environment_policy(env).drift
        chosen = split_columns(columns) or None
        reference_frame, current_frame = _drift_frames(reference, current, chosen)
    result = check_drift(reference_frame, current_frame, policy=policy, columns=chosen)
    if html:
        from modelops.reports.drift_html import write_drift_html

        common = [c for c in (chosen or reference_frame.columns) if c in current_frame.columns]
        write_drift_html(
            reference_frame[common], current_frame[common], html, sample_rows=policy.report_sample_rows
        )
    if as_json:
        emit_json(result.to_dict())
        raise exit_for(result.passed)
    table = Table(title=f"Drift: {reference.name} → {current.name}")
    for header in ("column", "drifted", "method", "score", "threshold", "missing ref → cur"):
        table.add_column(header)
    for column in result.measured["columns"]:
        table.add_row(
            column["name"],
            "[red]yes[/]" if column["drifted"] else "[green]no[/]",
            column["method"] + (f" ({column['problem']})" if column["problem"] else ""),
            fmt(column["score"]),
            fmt(column["threshold"]),
            f"{column['reference_missing_share']:.1%} → {column['current_missing_share']:.1%}",
        )
    console.print(table)
    verdict_line(result)
    raise exit_for(result.passed)


@app.command("fairness")
def fairness(
    data: Path = typer.Option(..., help="File with labels, predictions and sensitive columns."),
    label: str = typer.Option(..., help="Column of true labels."),
    prediction: str = typer.Option(..., help=f"Column of the model's {PREDICTIONS}."),
    sensitive: str = typer.Option(..., help="Comma-separated sensitive feature columns."),
    classes: str = typer.Option("0,1", help=CLASSES_HELP),
    positive_class: str = typer.Option(None, help=POSITIVE_HELP),
    env: str = typer.Option("local", help=ENV_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Demographic parity, equalized odds and the four-fifths rule per sensitive feature."""
    import numpy as np

    from modelops.data import binary_labels, prediction_scores, read_frame, require_columns
    from modelops.gates import check_fairness
    from modelops.gates.result import fmt

    with input_errors(as_json=as_json):
        policy = environment_policy(env)
        two_classes, positive = _classes(classes, positive_class)
        features = split_columns(sensitive)
        if not features:
            raise InputError("--sensitive: name at least one column")
        _not_the_label(label, str(data), prediction=prediction)
        frame = read_frame(data)
        require_columns(frame, [label, prediction, *features], str(data))
        y_true = binary_labels(
            frame[label], classes=two_classes, positive_class=positive, where=str(data)
        ).to_numpy()
        scores = prediction_scores(frame[prediction], where=str(data))
    predictions = (scores >= policy.evaluation.decision_threshold).astype(np.int64)
    result = check_fairness(y_true, predictions, {f: frame[f] for f in features}, policy=policy.fairness)
    if as_json:
        emit_json(result.to_dict())
        raise exit_for(result.passed)
    for feature in result.measured["features"]:
        table = Table(
            title=f"{feature['feature']}: DPD {fmt(feature['demographic_parity_difference'])}, "
            f"EOD {fmt(feature['equalized_odds_difference'])}, DIR {fmt(feature['disparate_impact_ratio'])}"
        )
        for header in ("group", "rows", "selection rate", "TPR", "FPR", "accuracy"):
            table.add_column(header)
        for group in feature["groups"]:
            table.add_row(
                group["group"],
                str(group["count"]),
                fmt(group["selection_rate"]),
                fmt(group["true_positive_rate"]),
                fmt(group["false_positive_rate"]),
                fmt(group["accuracy"]),
            )
        console.print(table)
    verdict_line(result)
    raise exit_for(result.passed)


@app.command("evaluation")
def evaluation(
    data: Path = typer.Option(..., help="Holdout file with labels and score columns."),
    label: str = typer.Option(..., help="Column of true labels."),
    challenger: str = typer.Option(..., help=f"Column of the challenger's {PREDICTIONS}."),
    champion: str = typer.Option(None, help="The champion's column, if there is a champion."),
    metrics: str = typer.Option(
        None, help="Comma-separated metrics (default: those the policy sets limits for)."
    ),
    classes: str = typer.Option("0,1", help=CLASSES_HELP),
    positive_class: str = typer.Option(None, help=POSITIVE_HELP),
    env: str = typer.Option("local", help=ENV_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Absolute minimums and bootstrap-interval regression vs the champion."""
    from modelops.config.environment import Metric
    from modelops.data import binary_labels, prediction_scores, read_frame, require_columns
    from modelops.gates import check_evaluation
    from modelops.gates.result import fmt

    with input_errors(as_json=as_json):
        policy = environment_policy(env).evaluation
        two_classes, positive = _classes(classes, positive_class)
        _not_the_label(label, str(data), challenger=challenger, champion=champion)
        frame = read_frame(data)
        require_columns(frame, [label, challenger, *([champion] if champion else [])], str(data))
        y_true = binary_labels(
            frame[label], classes=two_classes, positive_class=positive, where=str(data)
        ).to_numpy()
        challenger_scores = prediction_scores(frame[challenger], where=str(data))
        champion_scores = prediction_scores(frame[champion], where=str(data)) if champion else None
        names = split_columns(metrics) or list(dict.fromkeys([*policy.minimums, *policy.max_regression]))
        known = set(get_args(Metric))
        if unknown := [n for n in names if n not in known]:
            raise InputError(
                f"--metrics: unknown metric(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
    with steps(enabled=not as_json) as step:
        step(f"bootstrapping {policy.bootstrap_samples} resamples")
        result = check_evaluation(y_true, challenger_scores, champion_scores, metrics=names, policy=policy)
    if as_json:
        emit_json(result.to_dict())
        raise exit_for(result.passed)
    table = Table(title=f"Evaluation on {result.measured.get('rows', 0)} rows")
    for header in ("metric", "challenger (CI)", "champion", "Δ (CI)", "minimum", "max regression"):
        table.add_column(header)
    for row in result.measured.get("metrics", []):
        ci = row["challenger_ci"]
        delta = (
            f"{fmt(row['delta'])} [{fmt(row['delta_ci'][0])}, {fmt(row['delta_ci'][1])}]"
            if "delta" in row
            else "—"
        )
        table.add_row(
            row["metric"],
            f"{fmt(row['challenger'])} [{fmt(ci[0])}, {fmt(ci[1])}]",
            fmt(row.get("champion")) if "champion" in row else "—",
            delta,
            fmt(row["minimum"]) if row["minimum"] is not None else "—",
            fmt(row.get("max_regression")) if row.get("max_regression") is not None else "—",
        )
    console.print(table)
    verdict_line(result)
    raise exit_for(result.passed)
