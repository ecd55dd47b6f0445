"""`make demo`: the whole promotion gate on the embedded registry, in a couple of minutes.

Trains three models on the German Credit data, registers them, gates the champion
(no champion before it), then two challengers against it: one better, which passes,
and one trained on biased labels, which the fairness gate blocks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sklearn.model_selection import train_test_split

from modelops.cli.common import console, errors
from modelops.config import load_model_policy, project_root
from modelops.demo.dataset import LABEL, load_german_credit
from modelops.demo.models import demo_models, fit
from modelops.gates.result import fmt
from modelops.pipeline.gate_run import GateRequest, run_gate
from modelops.pipeline.outcome import GateOutcome
from modelops.pipeline.publish import publish
from modelops.registry import configure, register_model
from modelops.registry.errors import registry_errors

MODEL = "credit-risk"
ENVIRONMENT = "dev"


@dataclass(frozen=True)
class DemoRun:
    key: str
    description: str
    version: str
    outcome: GateOutcome
    report_dir: Path
    expected_pass: bool


def _headline(outcome: GateOutcome) -> tuple[str, str]:
    evaluation = outcome.result("evaluation")
    auc = next(
        (
            m
            for m in (evaluation.measured.get("metrics", []) if evaluation else [])
            if m["metric"] == "roc_auc"
        ),
        None,
    )
    auc_text = "n/a"
    if auc:
        auc_text = fmt(auc["challenger"])
        if "delta_ci" in auc:
            auc_text += f" ([{fmt(auc['delta_ci'][0])}, {fmt(auc['delta_ci'][1])}])"
    fairness = outcome.result("fairness")
    ratios = ", ".join(
        f"{f['feature']} {fmt(f['disparate_impact_ratio'], 2)}"
        for f in (fairness.measured.get("features", []) if fairness else [])
    )
    return auc_text, ratios or "n/a"


def _summary(runs: list[DemoRun]) -> Table:
    table = Table(title=f"Promotion gate for {MODEL} → {ENVIRONMENT}")
    for header in ("version", "model", "ROC AUC (Δ 95% CI)", "disparate impact", "verdict"):
        table.add_column(header)
    for run in runs:
        auc, ratios = _headline(run.outcome)
        verdict = "[green]passed[/]" if run.outcome.passed else "[red]blocked[/]"
        table.add_row(f"v{run.version}", run.key, auc, ratios, verdict)
    return table


def _explain(run: DemoRun, root: Path) -> None:
    console.print(f"[bold]v{run.version} {run.key}[/]: {run.description}", highlight=False)
    if run.outcome.passed:
        console.print("  every gate passed", highlight=False)
    for reason in run.outcome.reasons:
        console.print(f"  [red]•[/] {reason}", highlight=False)
    folder = run.report_dir.relative_to(root) if run.report_dir.is_relative_to(root) else run.report_dir
    console.print(
        f"  evidence: {folder}/ (report.md, verdict.json, model_card.md, drift.html)", highlight=False
    )


def run_demo(reports_dir: Path | None = None) -> list[DemoRun]:
    """Run the demo; reports go to `reports_dir` (default: reports/demo in the repository)."""
    started = time.perf_counter()
    root = project_root()
    reports_dir = reports_dir or root / "reports" / "demo"
    uri = configure(root)
    console.print(f"[bold]modelops demo[/]: registry at {uri}")
    policy = load_model_policy(MODEL, root=root)
    data = load_german_credit()
    training, evaluation = train_test_split(data, test_size=0.3, random_state=0, stratify=data[LABEL])
    models = demo_models(training)
    runs: list[DemoRun] = []
    champion_version: str | None = None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=errors,
    ) as progress:
        task = progress.add_task("training and registering", total=len(models) * 2)
        registered = []
        for model in models:
            progress.update(task, description=f"training {model.key}")
            fitted = fit(model, training)
            progress.update(task, description=f"registering {model.key}")
            registered.append(
                register_model(
                    fitted,
                    name=MODEL,
                    training=training,
                    evaluation=evaluation,
                    label=LABEL,
                    sensitive_features=policy.sensitive_columns,
                    positive_class=policy.positive_class,
                    trusted_types=policy.trusted_types,
                    description=model.description,
                    run_name=f"demo-{model.key}",
                )
            )
            progress.advance(task)
        for model, version in zip(models, registered, strict=True):
            progress.update(task, description=f"gating {model.key} v{version.version}")
            out = reports_dir / f"v{version.version}-{model.key}"
            outcome = run_gate(
                GateRequest(MODEL, version.version, ENVIRONMENT, champion_version, root),
                drift_html=out / "drift.html",
            )
            publish(outcome, out)
            runs.append(
                DemoRun(model.key, model.description, version.version, outcome, out, model.key != "biased")
            )
            if model.key == "champion" and outcome.passed:
                import mlflow

                with registry_errors(f"model {MODEL} version {version.version}"):
                    mlflow.MlflowClient().set_registered_model_alias(MODEL, "champion", version.version)
                champion_version = version.version
            progress.advance(task)
    console.print(_summary(runs))
    for run in runs:
        _explain(run, root)
    # soft_wrap: a command to paste must stay on one line, however narrow the terminal.
    console.print(f"MLflow UI: uv run mlflow ui --backend-store-uri {uri}", highlight=False, soft_wrap=True)
    unexpected = [run for run in runs if run.outcome.passed != run.expected_pass]
    console.print(f"finished in {time.perf_counter() - started:.0f} s")
    if unexpected:
        errors.print("[bold red]demo:[/] unexpected verdict for " + ", ".join(r.key for r in unexpected))
        raise typer.Exit(1)
    return runs
