"""The rollout history: one MLflow run per canary analysis, in one experiment per model.

`modelops rollout analyze` writes a record each time it judges a step; `modelops rollout plan`
reads them back to learn how this model's (and every model's) rollouts have gone. This module is
the only place that knows how a record is laid out in MLflow, so writer and reader cannot drift.

A record's identity is its rollout: the environment, the candidate version and the stable
version it was measured against. Its decision is one of `DECISIONS`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from modelops.errors import InputError
from modelops.registry.errors import registry_errors

Decision = Literal["step", "complete", "abort", "wait"]
DECISIONS: tuple[str, ...] = get_args(Decision)

EXPERIMENT_PREFIX = "modelops/rollouts"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

# Run tags (strings, searchable) and params: the record's identity and decision.
_TAGS = {
    "model": "modelops.model",
    "environment": "modelops.environment",
    "candidate_version": "modelops.rollout.candidate_version",
    "stable_version": "modelops.rollout.stable_version",
    "decision": "modelops.rollout.decision",
    "reason": "modelops.rollout.reason",
    "proposed_commit": "modelops.rollout.proposed_commit",
    "no_data": "modelops.rollout.no_data",
}
# Run metrics: where the step stood and the window it read.
_STEP = "rollout.candidate_percent"
_WINDOW_START = "rollout.window_start"
_WINDOW_END = "rollout.window_end"
_EVIDENCE = "evidence."  # prefix of each measured figure, e.g. evidence.candidate.p95_seconds


def experiment_name(model: str) -> str:
    if not _NAME.match(model):
        raise InputError(f"model name {model!r}: only letters, digits, '.', '_' and '-'")
    return f"{EXPERIMENT_PREFIX}/{model}"


@dataclass(frozen=True)
class AnalysisRecord:
    """One judgement of one canary step."""

    model: str
    environment: str
    candidate_version: str
    stable_version: str
    candidate_percent: int  # the candidate's traffic share when it was judged (mirror share in shadow)
    window_start: float  # unix seconds
    window_end: float
    decision: Decision
    reason: str
    no_data: bool = False  # the window held too little traffic to judge
    evidence: Mapping[str, float] = field(default_factory=dict)
    proposed_commit: str = ""  # the commit of the pull request it opened, if any
    run_id: str = ""  # set when read back

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"decision {self.decision!r} is not one of {', '.join(DECISIONS)}")


def log_analysis(record: AnalysisRecord) -> str:
    """Record one analysis as a run of the model's rollout experiment; returns the run id."""
    import mlflow

    from modelops.registry.tracking import ensure_experiment

    what = f"rollout record of {record.model} in {record.environment}"
    with registry_errors(what):
        experiment_id = ensure_experiment(experiment_name(record.model))
        run_name = f"{record.environment}-v{record.candidate_version}-{record.candidate_percent}pct"
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            mlflow.set_tags(
                {
                    _TAGS["model"]: record.model,
                    _TAGS["environment"]: record.environment,
                    _TAGS["candidate_version"]: record.candidate_version,
                    _TAGS["stable_version"]: record.stable_version,
                    _TAGS["decision"]: record.decision,
                    _TAGS["reason"]: record.reason[:4000],
                    _TAGS["proposed_commit"]: record.proposed_commit,
                    _TAGS["no_data"]: "true" if record.no_data else "false",
                }
            )
            figures = {
                _STEP: float(record.candidate_percent),
                _WINDOW_START: record.window_start,
                _WINDOW_END: record.window_end,
                **{f"{_EVIDENCE}{key}": float(value) for key, value in record.evidence.items()},
            }
            # NaN is "not measured": MLflow stores it, but a reader would mistake it for a figure.
            mlflow.log_metrics({k: v for k, v in figures.items() if v == v})
            return str(run.info.run_id)


def set_proposed_commit(run_id: str, commit: str) -> None:
    """Attach the pull request's commit to a record written before the pull request existed."""
    import mlflow

    with registry_errors(f"rollout record {run_id}"):
        mlflow.MlflowClient().set_tag(run_id, _TAGS["proposed_commit"], commit)


def _from_run(run) -> AnalysisRecord:  # an mlflow.entities.Run
    run_tags, metrics = run.data.tags, run.data.metrics
    decision = run_tags.get(_TAGS["decision"], "")
    if decision not in DECISIONS:
        raise InputError(f"rollout record run {run.info.run_id}: decision {decision!r} is not a decision")
    return AnalysisRecord(
        model=run_tags.get(_TAGS["model"], ""),
        environment=run_tags.get(_TAGS["environment"], ""),
        candidate_version=run_tags.get(_TAGS["candidate_version"], ""),
        stable_version=run_tags.get(_TAGS["stable_version"], ""),
        candidate_percent=int(metrics.get(_STEP, 0)),
        window_start=float(metrics.get(_WINDOW_START, 0.0)),
        window_end=float(metrics.get(_WINDOW_END, 0.0)),
        decision=cast(Decision, decision),
        reason=run_tags.get(_TAGS["reason"], ""),
        no_data=run_tags.get(_TAGS["no_data"]) == "true",
        evidence={k[len(_EVIDENCE) :]: v for k, v in metrics.items() if k.startswith(_EVIDENCE)},
        proposed_commit=run_tags.get(_TAGS["proposed_commit"], ""),
        run_id=str(run.info.run_id),
    )


def _runs(model: str, environment: str | None) -> list:  # mlflow.entities.Run
    import mlflow

    name = experiment_name(model)
    if environment is not None and not _NAME.match(environment):
        raise InputError(f"environment name {environment!r}: only letters, digits, '.', '_' and '-'")
    client = mlflow.MlflowClient()
    with registry_errors(f"rollout history of {model}"):
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            return []
        query = f"tags.`{_TAGS['environment']}` = '{environment}'" if environment else ""
        runs, token = [], None
        while True:
            page = client.search_runs(
                [experiment.experiment_id], filter_string=query, max_results=1000, page_token=token
            )
            runs += list(page)
            token = page.token
            if not token:
                break
    return runs


def _in_order(records: list[AnalysisRecord]) -> list[AnalysisRecord]:
    return sorted(records, key=lambda r: (r.window_end, r.window_start))


def analyses(model: str, *, environment: str | None = None) -> list[AnalysisRecord]:
    """Every recorded analysis of `model` (in `environment`, if given), oldest window first."""
    return _in_order([_from_run(run) for run in _runs(model, environment)])


def readable_analyses(model: str, *, environment: str) -> tuple[list[AnalysisRecord], list[str]]:
    """The records of `model` in `environment` that read as records of exactly that, oldest window
    first, and why each other run of the experiment that claims the environment was set aside (a
    run anyone wrote there is evidence to weigh, not a record to believe)."""
    records, set_aside = [], []
    for run in _runs(model, environment):
        try:
            record = _from_run(run)
        except (InputError, ValueError) as error:
            set_aside.append(str(error))
            continue
        if (record.model, record.environment) != (model, environment):
            set_aside.append(
                f"rollout record run {record.run_id}: names {record.model or 'no model'} "
                f"in {record.environment or 'no environment'}"
            )
            continue
        records.append(record)
    return _in_order(records), set_aside
