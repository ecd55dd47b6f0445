"""The model card stored with every gated version: use, data, metrics, gate results, lineage."""

from __future__ import annotations

from datetime import UTC, datetime

from modelops.gates.result import fmt
from modelops.pipeline.outcome import GateOutcome
from modelops.reports.markdown import evaluation_set_line, evaluation_table, fairness_tables, leakage_table


def render_model_card(outcome: GateOutcome, *, gate_run_id: str = "") -> str:
    policy = outcome.model_policy
    candidate = outcome.candidate
    evaluation = outcome.result("evaluation")
    fairness = outcome.result("fairness")
    leakage = outcome.result("leakage")
    sensitive = ", ".join(
        f"{f.column} (bands {', '.join(f.labels or [])})" if f.bins else f.column
        for f in policy.sensitive_features
    )
    champion = (
        f"v{outcome.champion.version} (`{outcome.champion.artifact_digest}`)"
        if outcome.champion
        else f"none ({outcome.no_champion})"
    )
    lines = [
        f"# Model card: {candidate.name} v{candidate.version}",
        "",
        f"_Written by the {outcome.environment} gate on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Verdict: **{'passed' if outcome.passed else 'failed'}**._",
        "",
        "## Intended use",
        "",
        policy.intended_use or policy.description or "Not stated in the model's policy.",
        "",
    ]
    if policy.out_of_scope_use:
        lines += ["**Out of scope:** " + policy.out_of_scope_use, ""]
    lines += [
        "## What the endpoint answers",
        "",
        f"`POST /v2/models/{candidate.name}/infer` answers each row's class probabilities "
        "(scikit-learn's `predict_proba`, one column per class in the model's `classes_` order), not "
        f"labels. The gates below scored exactly these: the probability of class `{policy.positive_class}`.",
        "",
        "## Data",
        "",
        f"- Label: `{policy.label}` (positive class `{policy.positive_class}`); "
        f"sensitive features: {sensitive}.",
        f"- Training data: digest `{candidate.training_digest or 'unknown'}` "
        f"(logged with run `{candidate.run_id}`).",
        f"- Evaluation data: {evaluation_set_line(outcome)}, chosen by the platform and the same for "
        "every version of the model.",
        f"- Drift reference: `{outcome.reference_data.source}`, {outcome.reference_data.rows} rows, "
        f"digest `{outcome.reference_data.digest}`.",
        "",
        "## Metrics (overall)",
        "",
        evaluation_table(evaluation)
        if evaluation and evaluation.measured
        else "Not measured: " + "; ".join(evaluation.reasons if evaluation else ["no evaluation"]),
        "",
        "## Metrics per group",
        "",
        fairness_tables(fairness) if fairness and fairness.measured else "Not measured.",
        "",
        "## Leakage",
        "",
        leakage_table(leakage) if leakage and leakage.measured else "Not measured.",
        "",
        "## Gate results",
        "",
    ]
    lines += [
        f"- **{r.gate}**: {'passed' if r.passed else 'failed'}"
        + (" — " + "; ".join(r.reasons) if r.reasons else "")
        for r in outcome.results
    ]
    lines += [
        "",
        "## Lineage",
        "",
        f"- Model version: {candidate.name} v{candidate.version}, "
        f"artifact digest `{candidate.artifact_digest}`",
        f"- Training run: `{candidate.run_id}`; code commit at registration: `{candidate.git_commit}`",
        f"- Gate run: `{gate_run_id or 'not logged'}`; repository commit at gating: `{outcome.gate_commit}`",
        f"- Champion at gating: {champion}",
        f"- Policy: environment `{outcome.environment}`, "
        f"intervals at {fmt(outcome.policy.evaluation.confidence, 2)} confidence (DeLong's for ROC AUC, "
        f"{outcome.policy.evaluation.bootstrap_samples} bootstrap resamples for the other metrics)",
    ]
    return "\n".join(lines) + "\n"
