"""`modelops gate`: fetch, verify, load, score and judge one candidate version.

I/O lives here; every decision is delegated to the pure functions in `modelops.gates`.
A failed integrity check stops before anything is deserialized: the other model
gates are then recorded as not run, which fails the verdict.

Both models are scored on the evaluation set the model's policy pins, never on data a
registration brought along: what a model is judged on is the platform's choice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelops.config import ModelPolicy, load_environment, load_model_policy, resolve_policy
from modelops.config.environment import LatencyPolicy
from modelops.data import binary_labels, require_columns
from modelops.errors import InputError
from modelops.gates import (
    check_drift,
    check_evaluation,
    check_fairness,
    check_integrity,
    check_latency,
    check_leakage,
)
from modelops.gates.fairness import band
from modelops.gates.integrity import data_kind
from modelops.gates.ladder import check_ladder
from modelops.gates.latency import meets_sla
from modelops.gates.leakage import TrainingData
from modelops.gates.precedent import check_precedent, policy_digest
from modelops.gates.result import GateResult
from modelops.pipeline.outcome import DataFacts, GateOutcome, VersionFacts
from modelops.pipeline.reference import reference_frame
from modelops.pipeline.scoring import positive_scores
from modelops.registry import tags
from modelops.registry.errors import registry_errors
from modelops.registry.evaluation_sets import EvaluationSet, load_pinned_set
from modelops.registry.register import DATASET_ARTIFACTS, git_commit
from modelops.registry.verdicts import blocked_versions
from modelops.registry.versions import (
    FetchedVersion,
    VersionRef,
    fetch_version,
    load_run_dataset,
    load_verified_model,
)
from modelops.serving.latency import measure_latency
from modelops.serving.mlserver import ModelServerError

Step = Callable[[str], None]
# Requests sent before the timed ones: the first ones pay for the worker's lazy imports and caches,
# which no steady-state request does.
LATENCY_WARMUP = 20
# Batches timed, at most, until one meets the SLA (modelops.serving.latency.measure_latency).
LATENCY_ATTEMPTS = 3


@dataclass(frozen=True)
class GateRequest:
    model: str
    candidate: str
    environment: str
    champion: str | None  # a version number, an alias (@champion), or None for a first release
    root: Path  # where environments/ and policies/ are read: the policies the gate judges with
    # Why the ladder is not checked ("" checks it): a rollback, or a release already served here.
    skip_ladder: str = ""
    # Why no champion is compared, when `champion` is None: the report says it.
    no_champion: str = "first release"
    # The commit those policies are from, when `root` is no checkout (the pull-request gate's base).
    policy_commit: str | None = None
    # The digests the releases pin (the head's overlay for the candidate, the base's for the champion):
    # the files judged must be those. None: the version's own digest tag.
    candidate_digest: str | None = None
    champion_digest: str | None = None


def _facts(fetched: FetchedVersion) -> VersionFacts:
    return VersionFacts(
        name=fetched.name,
        version=fetched.version,
        run_id=fetched.run_id,
        artifact_digest=fetched.pinned_digest or "unknown",
        git_commit=fetched.tags.get(tags.GIT_COMMIT, "unknown"),
        training_digest=fetched.tags.get(tags.TRAINING_DIGEST, ""),
        evaluation_digest=fetched.tags.get(tags.EVALUATION_DIGEST, ""),
    )


def _evaluation_facts(pinned: EvaluationSet) -> DataFacts:
    return DataFacts(
        source=pinned.source, rows=len(pinned.frame), digest=pinned.sha256, location=pinned.location
    )


def _logged_training(fetched: FetchedVersion, scratch: Path) -> pd.DataFrame | None:
    """The training frame stored with the version's run at registration; None if it logged none."""
    import mlflow

    if not fetched.run_id:
        return None
    with registry_errors(f"model {fetched.label} training data"):
        stored = {f.path for f in mlflow.MlflowClient().list_artifacts(fetched.run_id, "datasets")}
    if DATASET_ARTIFACTS["training"] not in stored:
        return None
    return load_run_dataset(
        fetched.run_id,
        "training",
        destination=scratch / f"training-v{fetched.version}",
        what=f"model {fetched.label}",
    )


def _reference(
    source: str, candidate_training: pd.DataFrame | None, root: Path
) -> tuple[pd.DataFrame | None, DataFacts]:
    """The drift reference: the candidate's training data, or a file the policy names."""
    # Where it is defined: `mlflow.data.from_pandas` is attached to the package at import time.
    from mlflow.data.pandas_dataset import from_pandas

    frame = reference_frame(source, training=lambda: candidate_training, root=root)
    if frame is None:
        return None, DataFacts(source=source, rows=0, digest="")
    if frame.empty:
        raise InputError(f"{source}: the data has no rows")
    return frame, DataFacts(source=source, rows=len(frame), digest=from_pandas(frame).digest)


def _training_data(
    fetched: FetchedVersion, *, name: str, frame: pd.DataFrame | None, label: str
) -> TrainingData:
    # A row is the same row for a model when its features (the signature's columns) and label are.
    features = [column for column, _ in fetched.signature or []]
    return TrainingData(name, fetched.version, frame, [*features, label] if features else None)


def sensitive_groups(frame: pd.DataFrame, model_policy: ModelPolicy) -> dict[str, pd.Series]:
    groups = {}
    for feature in model_policy.sensitive_features:
        values = frame[feature.column]
        if feature.bins is not None:
            values = band(pd.to_numeric(values, errors="coerce"), feature.bins, feature.labels or [])
        groups[feature.column] = values
    return groups


def _integrity(fetched: FetchedVersion, model_policy: ModelPolicy, data: pd.DataFrame) -> GateResult:
    return check_integrity(
        registered_manifest=fetched.registered_manifest,
        actual_manifest=fetched.actual_manifest,
        pinned_digest=fetched.pinned_digest,
        mlmodel=fetched.mlmodel,
        untrusted_types=fetched.untrusted_types,
        trusted_types=model_policy.trusted_types,
        signature=fetched.signature,
        data_kinds={str(column): data_kind(dtype) for column, dtype in data.dtypes.items()},
        label=model_policy.label,
    )


def _combined_integrity(candidate: GateResult, champion: GateResult | None) -> GateResult:
    if champion is None:
        return candidate
    reasons = (*candidate.reasons, *(f"champion: {reason}" for reason in champion.reasons))
    return GateResult(
        "integrity",
        candidate.passed and champion.passed,
        reasons,
        {"candidate": candidate.measured, "champion": champion.measured},
    )


def _latency(
    candidate: FetchedVersion, features: pd.DataFrame, *, policy: LatencyPolicy, scratch: Path
) -> GateResult:
    """The verified artifact on the platform's MLServer, as KServe would serve it."""
    try:
        batches = measure_latency(
            candidate.local_dir,
            model=candidate.name,
            rows=features,
            requests=policy.requests,
            warmup=LATENCY_WARMUP,
            log=scratch / "mlserver.log",
            attempts=LATENCY_ATTEMPTS,
            enough=lambda batch: meets_sla(batch, policy),
        )
    except ModelServerError as error:
        return GateResult("latency", False, (f"the model server could not serve {candidate.label}: {error}",))
    return check_latency(batches, policy=policy)


def _not_run(gate: str, why: str) -> GateResult:
    return GateResult(gate, False, (f"not run: {why}",), ran=False)


def run_gate(
    request: GateRequest, *, step: Step = lambda _: None, drift_html: Path | None = None
) -> GateOutcome:
    environment = load_environment(request.environment, root=request.root)
    model_policy = load_model_policy(request.model, root=request.root)
    policy = resolve_policy(environment, model_policy, root=request.root)
    judged_under = policy_digest(policy, model_policy)

    with tempfile.TemporaryDirectory(prefix="modelops-gate-") as scratch_name:
        scratch = Path(scratch_name)
        step(f"fetching {request.model} {request.candidate}")
        candidate = fetch_version(
            VersionRef(request.model, request.candidate),
            scratch / "candidate",
            pinned_digest=request.candidate_digest,
        )
        champion = None
        if request.champion:
            step(f"fetching champion {request.champion}")
            champion = fetch_version(
                VersionRef(request.model, request.champion),
                scratch / "champion",
                pinned_digest=request.champion_digest,
            )
            if champion.version == candidate.version:
                raise InputError(f"model {candidate.label}: candidate and champion are the same version")

        step("loading the evaluation set and training data")
        pinned = load_pinned_set(model_policy, root=request.root, destination=scratch / "evaluation-set")
        evaluation, evaluation_facts = pinned.frame, _evaluation_facts(pinned)
        candidate_training = _logged_training(candidate, scratch)
        champion_training = _logged_training(champion, scratch) if champion else None
        reference, reference_facts = _reference(model_policy.data.reference, candidate_training, request.root)
        where = f"evaluation set ({evaluation_facts.source})"
        require_columns(evaluation, [model_policy.label, *model_policy.sensitive_columns], where)
        y_true = binary_labels(
            evaluation[model_policy.label],
            classes=model_policy.classes,
            positive_class=model_policy.positive_class,
            where=where,
        ).to_numpy()
        feature_columns = [name for name, _ in candidate.signature or []] or [
            c for c in evaluation.columns if c != model_policy.label
        ]
        features = evaluation[[c for c in feature_columns if c in evaluation.columns]]

        step("verifying artifacts")
        integrity = _combined_integrity(
            _integrity(candidate, model_policy, evaluation),
            _integrity(champion, model_policy, evaluation) if champion else None,
        )
        ladder = (
            GateResult("ladder", True, (), {"skipped": request.skip_ladder})
            if request.skip_ladder
            else check_ladder(environment.name, policy.requires, candidate.tags)
        )
        step("looking for earlier verdicts on this artifact")
        earlier = [
            v for v in blocked_versions(request.model, environment.name) if v.version != candidate.version
        ]
        precedent = check_precedent(
            environment=environment.name,
            artifact_digest=candidate.pinned_digest,
            manifest=candidate.registered_manifest or {},
            earlier=earlier,
            current_policy=judged_under,
        )
        results = [ladder, integrity, precedent]

        step("checking for leakage")
        trained_on = [
            _training_data(
                candidate, name=f"v{candidate.version}", frame=candidate_training, label=model_policy.label
            )
        ]
        if champion:
            trained_on.append(
                _training_data(
                    champion,
                    name=f"champion v{champion.version}",
                    frame=champion_training,
                    label=model_policy.label,
                )
            )
        results.append(check_leakage(evaluation, trained_on, max_duplicated_rows=pinned.max_duplicated_rows))

        step("checking drift")
        drift_columns = list(features.columns)
        if reference is None:
            results.append(_not_run("drift", f"v{candidate.version} logged no training data to compare with"))
        else:
            results.append(check_drift(reference, evaluation, policy=policy.drift, columns=drift_columns))

        if integrity.passed:
            step("scoring the evaluation set")
            model = load_verified_model(candidate, model_policy.trusted_types)
            scores = positive_scores(
                model, features, positive_class=model_policy.positive_class, what=f"model {candidate.label}"
            )
            champion_scores = None
            if champion:
                champion_model = load_verified_model(champion, model_policy.trusted_types)
                champion_scores = positive_scores(
                    champion_model,
                    features,
                    positive_class=model_policy.positive_class,
                    what=f"model {champion.label}",
                )
            step("comparing metrics (DeLong for ROC AUC, bootstrap for the rest)")
            results.append(
                check_evaluation(
                    y_true, scores, champion_scores, metrics=model_policy.metrics, policy=policy.evaluation
                )
            )
            step("checking fairness")
            predictions = (scores >= policy.evaluation.decision_threshold).astype(np.int64)
            results.append(
                check_fairness(
                    y_true, predictions, sensitive_groups(evaluation, model_policy), policy=policy.fairness
                )
            )
            step("timing single-row requests on the platform's model server")
            results.append(_latency(candidate, features, policy=policy.latency, scratch=scratch))
        else:
            results += [
                _not_run(g, "the artifact failed verification") for g in ("evaluation", "fairness", "latency")
            ]

        html = None
        if drift_html is not None and reference is not None:
            step("rendering the drift report")
            from modelops.reports.drift_html import write_drift_html

            common = [c for c in drift_columns if c in reference.columns]
            html = write_drift_html(
                reference[common],
                evaluation[common],
                drift_html,
                sample_rows=policy.drift.report_sample_rows,
            )

    return GateOutcome(
        environment=environment.name,
        candidate=_facts(candidate),
        champion=_facts(champion) if champion else None,
        model_policy=model_policy,
        policy=policy,
        results=tuple(results),
        evaluation_data=evaluation_facts,
        reference_data=reference_facts,
        gate_commit=request.policy_commit or git_commit(request.root),
        drift_html=html,
        no_champion="" if champion else request.no_champion,
        policy_digest=judged_under,
    )
