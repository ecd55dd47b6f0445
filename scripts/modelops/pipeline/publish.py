"""Leave the evidence: report files for the PR, a gate run in MLflow, tags on the version.

`verdict.json` is written last, after the registry has recorded the decision, so a
verdict file that says "passed" always has its audit record behind it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from modelops.pipeline.outcome import GateOutcome
from modelops.registry import tags
from modelops.registry.errors import registry_errors
from modelops.registry.tracking import ensure_experiment
from modelops.reports.files import write_json_atomic, write_text_atomic
from modelops.reports.markdown import render_report
from modelops.reports.model_card import render_model_card

GATE_EXPERIMENT = "modelops/gates"


@dataclass(frozen=True)
class Published:
    run_id: str
    report: Path
    verdict: Path
    model_card: Path
    drift_html: Path | None


def _metric_name(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", ".".join(str(p) for p in parts))


def gate_metrics(outcome: GateOutcome) -> dict[str, float]:
    """The measured values worth plotting across gate runs."""
    metrics: dict[str, float] = {}
    for result in outcome.results:
        metrics[_metric_name(result.gate, "passed")] = float(result.passed)
    if (evaluation := outcome.result("evaluation")) is not None:
        for row in evaluation.measured.get("metrics", []):
            metrics[_metric_name("evaluation", row["metric"])] = row["challenger"]
            if row.get("delta_ci"):
                metrics[_metric_name("evaluation", row["metric"], "delta_ci_low")] = row["delta_ci"][0]
    if (fairness := outcome.result("fairness")) is not None:
        for feature in fairness.measured.get("features", []):
            for key in (
                "demographic_parity_difference",
                "equalized_odds_difference",
                "disparate_impact_ratio",
            ):
                metrics[_metric_name("fairness", feature["feature"], key)] = feature[key]
    if (leakage := outcome.result("leakage")) is not None and "duplicated_rows" in leakage.measured:
        metrics["leakage.duplicated_rows"] = leakage.measured["duplicated_rows"]
        # The candidate comes first, then the champion: named by role so runs plot as one series.
        for role, version in zip(
            ("candidate", "champion"), leakage.measured.get("versions", []), strict=False
        ):
            if version.get("overlapping_rows") is not None:
                metrics[f"leakage.overlapping_rows.{role}"] = version["overlapping_rows"]
    if (drift := outcome.result("drift")) is not None and "drifted_share" in drift.measured:
        metrics["drift.drifted_share"] = drift.measured["drifted_share"]
    if (latency := outcome.result("latency")) is not None and "p95_ms" in latency.measured:
        metrics["latency.p95_ms"] = latency.measured["p95_ms"]
    return {k: float(v) for k, v in metrics.items() if v is not None and v == v}


def publish(outcome: GateOutcome, out_dir: Path, *, record: bool = True) -> Published:
    """Write the reports; with `record`, also log the gate run and tag the version in MLflow.

    Without `record` nothing reaches the registry: a pull request's check runs its own code, so
    it holds read-only credentials, and the decision is recorded when the change merges.
    """
    import mlflow

    candidate = outcome.candidate
    what = f"model {candidate.name} version {candidate.version}"
    out_dir.mkdir(parents=True, exist_ok=True)
    verdict = {**outcome.verdict()}
    if not record:
        report = write_text_atomic(out_dir / "report.md", render_report(outcome))
        card = write_text_atomic(out_dir / "model_card.md", render_model_card(outcome))
        verdict["gate_run_id"] = None
        verdict_path = write_json_atomic(out_dir / "verdict.json", verdict)
        return Published("", report, verdict_path, card, outcome.drift_html)
    with registry_errors(what):
        experiment_id = ensure_experiment(GATE_EXPERIMENT)
        run_name = f"{candidate.name}-v{candidate.version}-{outcome.environment}"
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            run_id = run.info.run_id
            report = write_text_atomic(out_dir / "report.md", render_report(outcome))
            card = write_text_atomic(
                out_dir / "model_card.md", render_model_card(outcome, gate_run_id=run_id)
            )
            mlflow.set_tags(
                {
                    "modelops.model": candidate.name,
                    "modelops.version": candidate.version,
                    "modelops.environment": outcome.environment,
                    "modelops.verdict": "passed" if outcome.passed else "failed",
                }
            )
            mlflow.log_params(
                {
                    "model": candidate.name,
                    "candidate_version": candidate.version,
                    "champion_version": outcome.champion.version if outcome.champion else "none",
                    **({} if outcome.champion else {"no_champion": outcome.no_champion}),
                    "environment": outcome.environment,
                    "artifact_digest": candidate.artifact_digest,
                    "evaluation_set_location": outcome.evaluation_data.location,
                    "evaluation_set_sha256": outcome.evaluation_data.digest,
                    "evaluation_set_rows": outcome.evaluation_data.rows,
                }
            )
            mlflow.log_metrics(gate_metrics(outcome))
            verdict["gate_run_id"] = run_id
            mlflow.log_dict(verdict, "verdict.json")
            for path in (report, card, outcome.drift_html):
                if path is not None:
                    mlflow.log_artifact(str(path))
        client = mlflow.MlflowClient()
        env = outcome.environment
        client.set_model_version_tag(
            candidate.name, candidate.version, tags.gate(env), "passed" if outcome.passed else "failed"
        )
        client.set_model_version_tag(candidate.name, candidate.version, tags.gate_run(env), run_id)
        # What a later copy of this artifact inherits (gates.precedent): which gates judged and failed
        # it, and under which policies.
        failed = ",".join(r.gate for r in outcome.results if r.ran and not r.passed)
        client.set_model_version_tag(candidate.name, candidate.version, tags.gate_failed(env), failed)
        client.set_model_version_tag(
            candidate.name, candidate.version, tags.gate_policy(env), outcome.policy_digest
        )
        client.set_model_version_tag(
            candidate.name, candidate.version, tags.model_card(env), f"runs:/{run_id}/model_card.md"
        )
    verdict_path = write_json_atomic(out_dir / "verdict.json", verdict)
    return Published(run_id, report, verdict_path, card, outcome.drift_html)
