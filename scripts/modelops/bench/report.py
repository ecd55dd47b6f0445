"""The printed benchmark report: rich tables of times, memory and agreement. Every figure comes
from this run's child processes; nothing here is a constant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from modelops.bench import compare

GATE_TARGET_S, EVALUATION_TARGET_S, RATIO_TARGET = 3.0, 1.0, 20.0


@dataclass(frozen=True)
class SideRun:
    """What the parent knows about one child: its JSON results and what `os.wait4` reported."""

    results: dict[str, Any]
    wall_s: float
    peak_rss_kib: int
    cpu_s: float  # user + system CPU of the whole process; far below its wall time means it waited


@dataclass(frozen=True)
class Outcome:
    verdicts_agree: bool
    fairness_match: bool
    evaluation_match: bool
    interval_methods_agree: bool  # DeLong's evaluation verdicts equal the row bootstrap's

    @property
    def ok(self) -> bool:
        return (
            self.verdicts_agree
            and self.fairness_match
            and self.evaluation_match
            and self.interval_methods_agree
        )


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def _yes(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def _verdict(passed: bool) -> str:
    return "[green]PASS[/]" if passed else "[red]FAIL[/]"


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _times(console: Console, gate: SideRun, obvious: SideRun) -> float:
    table = Table(title="Wall time per decision (data already in memory; imports excluded)")
    for header in ("Decision", "Gate (s)", "Obvious measured (s)", "Obvious scaled (s)", "Ratio", "How"):
        table.add_column(header, justify="left" if header in ("Decision", "How") else "right")
    theirs = {t["decision"]: t for t in obvious.results["timings"]}
    for ours in gate.results["timings"]:
        other = theirs[ours["decision"]]
        ratio = other["scaled_s"] / ours["measured_s"] if ours["measured_s"] else float("inf")
        how = f"gate: {ours['basis']}\nobvious: {other['basis']}"
        table.add_row(
            ours["decision"],
            f"{ours['measured_s']:.2f}",
            f"{other['measured_s']:.2f}",
            f"{other['scaled_s']:.2f}",
            f"{ratio:,.0f}x",
            how,
        )
    gate_total = compare.total_seconds(gate.results, "measured_s")
    measured, scaled = (compare.total_seconds(obvious.results, k) for k in ("measured_s", "scaled_s"))
    ratio = scaled / gate_total if gate_total else float("inf")
    table.add_section()
    table.add_row("total", f"{gate_total:.2f}", f"{measured:.2f}", f"{scaled:.2f}", f"{ratio:,.1f}x", "")
    console.print(table)
    return ratio


def _processes(console: Console, gate: SideRun, obvious: SideRun, parent_rss_kib: int) -> None:
    table = Table(title="Per side, each in its own process")
    headers = ("Side", "Import (s)", "Load data (s)", "Decisions (s)", "Peak RSS loading", "RSS loaded")
    for header in (*headers, "Peak RSS deciding", "Process wall (s)", "Process CPU (s)"):
        table.add_column(header, justify="left" if header == "Side" else "right")
    for name, run in (("gate", gate), ("obvious", obvious)):
        measured = compare.total_seconds(run.results, "measured_s")
        scaled = compare.total_seconds(run.results, "scaled_s")
        decisions = f"{measured:.2f}" if measured == scaled else f"{measured:.2f} (scaled {scaled:.2f})"
        deciding = _mib(run.peak_rss_kib)
        if not run.results["peak_reset"]:
            deciding += " (whole process: peak not reset)"
        table.add_row(
            name,
            f"{run.results['import_s']:.2f}",
            f"{run.results['load_s']:.2f}",
            decisions,
            _mib(run.results["load_peak_kib"]),
            _mib(run.results["loaded_kib"]),
            deciding,
            f"{run.wall_s:.1f}",
            f"{run.cpu_s:.1f}",
        )
    console.print(table)
    console.print(
        "RSS in MiB, never scaled: the obvious side's figures are for the sizes it actually ran (see 'How' "
        "above). 'Peak RSS loading' is the peak up to the end of reading the parquet files; the child then "
        "reset its high-water mark, so 'Peak RSS deciding' (ru_maxrss from os.wait4) is the peak while "
        f"deciding, with the data resident. The parent stayed at {_mib(parent_rss_kib)} (a child's peak "
        "cannot read below its parent's at spawn)."
    )


def _drift(console: Console, gate: SideRun, obvious: SideRun) -> bool:
    table = Table(title="Drift verdict per column: gate vs evidently DataDriftPreset (defaults)")
    for header in ("Column", "Gate", "Gate method", "Gate score", "evidently", "evidently method", "Score"):
        table.add_column(header, justify="right" if "score" in header.lower() else "left")
    table.add_column("Agree")
    rows = compare.column_verdicts(gate.results, obvious.results)
    for row in rows:
        ours, theirs = row.gate or {}, row.obvious or {}
        table.add_row(
            row.name,
            "drifted" if ours.get("drifted") else "-",
            ours.get("method", "absent"),
            _score(ours.get("score")),
            _drifted_or_unknown(theirs.get("drifted")),
            theirs.get("method", "absent"),
            _score(theirs.get("score")),
            _yes(row.agree),
        )
    console.print(table)
    agreeing = sum(row.agree for row in rows)
    counted = compare.evidently_count_consistent(obvious.results)
    drift = obvious.results["drift"]
    console.print(
        f"{agreeing}/{len(rows)} column verdicts agree (same verdict and the same method). "
        f"evidently's own DriftedColumnsCount is {drift['evidently_drifted_count']}; the verdicts read "
        f"from its ValueDrift results add up to {drift['drifted_count']}: {_yes(counted)}."
    )
    return agreeing == len(rows) and bool(rows) and counted


def _fairness(console: Console, gate: SideRun, obvious: SideRun) -> bool:
    pairs = compare.fairness_pairs(gate.results, obvious.results)
    table = Table(title="Fairness: gate vs fairlearn (MetricFrame + demographic parity / equalized odds)")
    for header in ("Feature: measure", "Gate", "fairlearn", "Close"):
        table.add_column(header, justify="left" if header.startswith("Feature") else "right")
    for pair in pairs:
        if "=" not in pair.where:  # the per-group numbers are summarised below the table
            table.add_row(pair.where, _score(pair.gate), _score(pair.obvious), _yes(pair.close))
    console.print(table)
    close = sum(pair.close for pair in pairs)
    diffs = [abs(p.gate - p.obvious) for p in pairs if p.gate is not None and p.obvious is not None]
    console.print(
        f"{close}/{len(pairs)} fairness numbers allclose (aggregates above, plus per-group count, "
        f"selection rate, TPR, FPR and accuracy); largest difference {max(diffs, default=0.0):.2e}."
    )
    return close == len(pairs) and bool(pairs)


def _evaluation(console: Console, gate: SideRun, obvious: SideRun) -> bool:
    table = Table(title="Evaluation: gate vs scikit-learn metrics over bootstrap resamples")
    for header in ("Metric", "Model", "Gate", "scikit-learn", "Close"):
        table.add_column(header, justify="left" if header in ("Metric", "Model") else "right")
    pairs = compare.evaluation_pairs(gate.results, obvious.results)
    for pair in pairs:
        metric, model = pair.where.split(" ")
        table.add_row(metric, model, _score(pair.gate), _score(pair.obvious), _yes(pair.close))
    for metric, ours in gate.results["evaluation"]["metrics"].items():
        theirs = obvious.results["evaluation"]["metrics"][metric]["delta_ci"]
        low, high = ours["delta_ci"]
        table.add_row(
            metric, "delta 95% CI", f"[{low:.4f}, {high:.4f}]", f"[{theirs[0]:.4f}, {theirs[1]:.4f}]", ""
        )
    console.print(table)
    console.print(
        "Point estimates must match. The intervals only agree roughly: the gate's roc_auc interval is "
        "DeLong's, and the others come from different resamples."
    )
    return all(pair.close for pair in pairs) and bool(pairs)


def _drifted_or_unknown(drifted: object) -> str:
    if drifted is None:
        return "unknown"
    return "drifted" if drifted else "-"


def _interval(values: Sequence[float | None]) -> str:
    low, high = values
    return "n/a" if low is None or high is None else f"[{low:.4f}, {high:.4f}]"


def _rule(passes: bool | None) -> str:
    return "no limit" if passes is None else _verdict(passes)


def _evaluation_methods(console: Console, gate: SideRun) -> bool:
    methods = gate.results["evaluation_methods"]
    ours, reference = methods["delong"], methods["bootstrap"]
    resamples = reference["resamples"]
    table = Table(
        title=f"Evaluation decision: the gate (DeLong for roc_auc) vs the {resamples:,}-resample paired "
        "row bootstrap, same process, same data"
    )
    headers = ("Metric", "Gate method", "Gate Δ CI", "Bootstrap Δ CI", "Max regression", "Gate rule")
    for header in (*headers, "Bootstrap rule", "Same"):
        table.add_column(header, justify="left" if header in ("Metric", "Gate method") else "right")
    pairs = compare.interval_pairs(gate.results)
    for pair in pairs:
        table.add_row(
            pair.metric,
            pair.gate_method,
            _interval(pair.gate),
            _interval(pair.bootstrap),
            "—" if pair.max_regression is None else f"{pair.max_regression:g}",
            _rule(pair.rule_passes(pair.gate)),
            _rule(pair.rule_passes(pair.bootstrap)),
            _yes(pair.same_verdict),
        )
    table.add_section()
    same = ours["passed"] == reference["passed"]
    table.add_row(
        "decision", "", "", "", "", _verdict(ours["passed"]), _verdict(reference["passed"]), _yes(same)
    )
    console.print(table)
    ratio = reference["seconds"] / ours["seconds"] if ours["seconds"] else float("inf")
    console.print(
        f"Evaluation decision wall time: gate {ours['seconds']:.2f} s, bootstrap "
        f"{reference['seconds']:.2f} s ({ratio:,.0f}x). Both ran in the gate's process on the same "
        f"holdout, one after the other; the bootstrap ({resamples:,} resamples of the rows for every "
        "metric) is the gate's method before DeLong and is not counted in the gate's total. Non-AUC "
        "metrics differ only by Monte Carlo error: the gate draws the same bootstrap as confusion-cell "
        "counts."
    )
    return same and all(pair.same_verdict for pair in pairs) and bool(pairs)


def _decisions(console: Console, gate: SideRun, obvious: SideRun) -> None:
    table = Table(title="Gate decisions under the environment's policy")
    for header in ("Gate", "Gate side", "Obvious side", "Same decision"):
        table.add_column(header)
    for name in ("drift", "fairness", "evaluation"):
        ours, theirs = gate.results[name]["passed"], obvious.results[name]["passed"]
        table.add_row(name, _verdict(ours), _verdict(theirs), _yes(ours == theirs))
    console.print(table)
    for reason in gate.results["reasons"]:
        console.print(f"  gate: {reason}")


def print_report(console: Console, gate: SideRun, obvious: SideRun, parent_rss_kib: int) -> Outcome:
    ratio = _times(console, gate, obvious)
    _processes(console, gate, obvious, parent_rss_kib)
    outcome = Outcome(
        verdicts_agree=_drift(console, gate, obvious),
        fairness_match=_fairness(console, gate, obvious),
        evaluation_match=_evaluation(console, gate, obvious),
        interval_methods_agree=_evaluation_methods(console, gate),
    )
    _decisions(console, gate, obvious)
    gate_total = compare.total_seconds(gate.results, "measured_s")
    evaluation_s = next(t["measured_s"] for t in gate.results["timings"] if t["decision"] == "evaluation")
    table = Table(title="Targets")
    for header in ("Target", "This run", "Met"):
        table.add_column(header)
    table.add_row(
        f"evaluation decision under {EVALUATION_TARGET_S:g} s wall",
        f"{evaluation_s:.2f} s",
        _yes(evaluation_s < EVALUATION_TARGET_S),
    )
    table.add_row(
        f"gate decisions under {GATE_TARGET_S:g} s wall",
        f"{gate_total:.2f} s",
        _yes(gate_total < GATE_TARGET_S),
    )
    table.add_row(
        f"obvious / gate at least {RATIO_TARGET:g}x (scaled)", f"{ratio:,.1f}x", _yes(ratio >= RATIO_TARGET)
    )
    table.add_row("every column verdict agrees", "", _yes(outcome.verdicts_agree))
    table.add_row("fairness numbers allclose", "", _yes(outcome.fairness_match))
    table.add_row("evaluation point estimates allclose", "", _yes(outcome.evaluation_match))
    table.add_row("DeLong and bootstrap evaluation verdicts agree", "", _yes(outcome.interval_methods_agree))
    console.print(table)
    return outcome
