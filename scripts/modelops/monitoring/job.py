"""One run of the monitor: for each live release of a model, its window of logged payloads against its
version's reference, with the gate's drift rules, live metrics where labels exist, and shadow against
stable on the same inputs. Reading and counting happen here; every verdict is the gate's."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from modelops.config import load_environment, load_model_policy, resolve_policy
from modelops.config.environment import DriftPolicy, PromotionPolicy
from modelops.config.model_policy import ModelPolicy
from modelops.errors import InputError
from modelops.gates.drift import ColumnDrift, drift_from_counts
from modelops.monitoring.counting import ColumnTally, plan_column, plan_numbers
from modelops.monitoring.labels import labelled, read_labels
from modelops.monitoring.live_metrics import LabelTally
from modelops.monitoring.payload_store import (
    PayloadStore,
    file_batches,
    file_schema,
    label_files,
    window_files,
)
from modelops.monitoring.prediction import ServedPrediction, served_prediction, served_scores
from modelops.monitoring.reference import Reference, load_reference
from modelops.monitoring.releases import LiveRelease, live_releases
from modelops.monitoring.shadow import ShadowComparison, ShadowJoin, row_hashes
from modelops.monitoring.window import Window
from modelops.payloads.layout import MODEL_VERSION, RECEIVED_AT, REQUEST_ID, ROW

Step = Callable[[str], None]
PREDICTION = "prediction"


@dataclass(frozen=True)
class ReleaseResult:
    release: LiveRelease
    files: int = 0
    rows: int = 0  # rows the release's version served in the window
    other_version_rows: int = 0  # rows in its partitions served by another version (before a release)
    columns: tuple[ColumnDrift, ...] = ()
    prediction: ColumnDrift | None = None
    labelled_rows: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    shadow: ShadowComparison | None = None
    problem: str | None = None  # why nothing was measured
    failed: bool = False  # the problem is unusable input (a run with one is not a success)

    @property
    def drifted(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]


@dataclass(frozen=True)
class MonitorReport:
    model: str
    environment: str
    window: Window
    releases: tuple[ReleaseResult, ...]
    errors: tuple[str, ...]  # unusable input, one line each: a release with one is not measured


@dataclass
class _Tallies:
    """Everything one release's window adds up, batch by batch."""

    columns: list[ColumnTally]
    labels: LabelTally
    pool: ThreadPoolExecutor
    prediction: ColumnTally | None = None  # planned once the first file names the prediction
    files: int = 0
    rows: int = 0
    other_version_rows: int = 0


def measure_release(
    release: LiveRelease,
    reference: Reference,
    *,
    store: PayloadStore,
    model: str,
    window: Window,
    policy: PromotionPolicy,
    model_policy: ModelPolicy,
    labels: pa.Table | None,
    shadow: ShadowJoin | None,
) -> ReleaseResult:
    """One release's window against its reference: every file of its partitions, batch by batch."""
    features = list(reference.features.columns)
    files = window_files(store, model=model, releases=release.partitions, window=window)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        tallies = _Tallies(
            [ColumnTally(plan_column(name, reference.features[name])) for name in features],
            LabelTally(threshold=policy.evaluation.decision_threshold),
            pool,
        )
        first: ServedPrediction | None = None
        for path in files:
            where = store.where(path)
            prediction = served_prediction(schema := file_schema(store, path), where=where)
            if first is None:
                first = prediction
                # Served probabilities are compared with the version's probabilities on its reference,
                # served labels with its predicted labels.
                expected = reference.predicted_positive * 1.0 if prediction.is_label else reference.scores
                tallies.prediction = ColumnTally(plan_numbers(PREDICTION, expected))
            elif prediction != first:
                raise InputError(
                    f"{where}: its prediction is {prediction.column}, earlier files' {first.column}"
                )
            # Shadow and stable are matched on the request's whole input, which both were sent.
            inputs = sorted(name for name in schema.names if not name.startswith("_")) if shadow else []
            for batch, absent in file_batches(
                store,
                path,
                columns=[
                    *dict.fromkeys([*features, *inputs]),
                    REQUEST_ID,
                    ROW,
                    MODEL_VERSION,
                    prediction.column,
                ],
                required=(RECEIVED_AT, MODEL_VERSION, REQUEST_ID, ROW),
                window=window,
            ):
                _add_batch(
                    batch,
                    absent,
                    tallies,
                    inputs=inputs,
                    release=release,
                    prediction=prediction,
                    where=where,
                    positive_class=model_policy.positive_class,
                    labels=labels,
                    shadow=shadow,
                )
            tallies.files += 1
    return _result(release, tallies, policy=policy, model_policy=model_policy)


def _add_batch(
    batch: pa.RecordBatch,
    absent: list[str],
    tallies: _Tallies,
    *,
    inputs: list[str],
    release: LiveRelease,
    prediction: ServedPrediction,
    where: str,
    positive_class: object,
    labels: pa.Table | None,
    shadow: ShadowJoin | None,
) -> None:
    ours = np.asarray(batch.column(MODEL_VERSION).to_numpy(zero_copy_only=False)) == release.version
    tallies.other_version_rows += int((~ours).sum())
    if not ours.all():
        batch = batch.filter(pa.array(ours))
    if not batch.num_rows:
        return
    tallies.rows += batch.num_rows

    def add(tally: ColumnTally) -> None:
        if tally.plan.name in absent:
            tally.add_absent(batch.num_rows)
        else:
            tally.add(batch.column(tally.plan.name))

    # Columns are counted side by side: each is numpy's and Arrow's work, which release the GIL.
    list(tallies.pool.map(add, tallies.columns))
    scores = served_scores(
        batch.column(prediction.column), prediction, positive_class=positive_class, where=where
    )
    assert tallies.prediction is not None  # set from the file's prediction before its batches
    tallies.prediction.add(pa.array(scores))
    if labels is not None:
        scored, positive = labelled(batch, pa.array(scores), labels)
        values = scored.to_numpy()
        kept = ~np.isnan(values)
        tallies.labels.add(values[kept], positive.to_numpy()[kept])
    if shadow is not None:
        hashes = row_hashes(batch.select(inputs).to_pandas())
        (shadow.add_shadow if release.shadow else shadow.add_stable)(hashes, scores)


def family_policy(policy: DriftPolicy, *, tests: int) -> DriftPolicy:
    """The drift policy for one window's `tests` column verdicts taken together (Bonferroni).

    The gate judges a data set by its share of drifted columns; the live alert fires on any one
    column, every window. At the policy's level per column, a window of 20 unshifted columns would
    flag one 64% of the time (1 - 0.95^20); at level / 20 each, any one at most 5%. The permutation
    test gets enough re-deals to reach the smaller level (its least p-value is 1 / (1 + re-deals)).
    """
    if tests <= 1:
        return policy
    level = policy.p_value / tests
    return policy.model_copy(
        update={"p_value": level, "permutations": max(policy.permutations, math.ceil(2 / level))}
    )


def _judge(tally: ColumnTally, policy: DriftPolicy) -> ColumnDrift:
    plan = tally.plan
    reference, current = tally.counted() or (plan.reference, None)
    return drift_from_counts(
        plan.name,
        plan.kind,
        reference,
        current,
        policy=policy,
        current_kind=tally.other_kind,
        reference_std=plan.reference_std,
    )


def _result(
    release: LiveRelease, tallies: _Tallies, *, policy: PromotionPolicy, model_policy: ModelPolicy
) -> ReleaseResult:
    if not tallies.rows:
        served = (
            f" ({tallies.other_version_rows} rows of other versions)" if tallies.other_version_rows else ""
        )
        return ReleaseResult(
            release,
            files=tallies.files,
            other_version_rows=tallies.other_version_rows,
            problem=f"no rows of v{release.version} in the window{served}: nothing to measure",
        )
    names = tuple(model_policy.metrics)
    metrics = tallies.labels.metrics(names) if tallies.labels.rows else {}
    judged = len(tallies.columns) + (tallies.prediction is not None)
    drift_policy = family_policy(policy.drift, tests=judged)
    return ReleaseResult(
        release,
        files=tallies.files,
        rows=tallies.rows,
        other_version_rows=tallies.other_version_rows,
        columns=tuple(_judge(tally, drift_policy) for tally in tallies.columns),
        prediction=_judge(tallies.prediction, drift_policy) if tallies.prediction else None,
        labelled_rows=tallies.labels.rows,
        metrics=metrics,
    )


def run_monitor(
    *,
    model: str,
    environment: str,
    window: Window,
    store: PayloadStore,
    root: Path,
    releases: list[LiveRelease] | None = None,
    step: Step = lambda _: None,
) -> MonitorReport:
    """`releases`: what the cluster runs (cluster_releases); None reads the gitops overlay under `root`."""
    env = load_environment(environment, root=root)
    model_policy = load_model_policy(model, root=root)
    policy = resolve_policy(env, model_policy, root=root)
    if releases is None:
        releases = live_releases(root, model=model, environment=environment)
    step("reading labels")
    labels = read_labels(
        store,
        label_files(store, model=model, window=window),
        classes=model_policy.classes,
        positive_class=model_policy.positive_class,
    )
    shadowed = any(r.shadow for r in releases)
    join = ShadowJoin(threshold=policy.evaluation.decision_threshold) if shadowed else None
    results: dict[str, ReleaseResult] = {}
    errors: list[str] = []
    # The shadow release first: stable's rows are then looked up against it as they stream by.
    for release in sorted(releases, key=lambda r: not r.shadow):
        step(f"{release.role} v{release.version}: loading its reference")
        try:
            with tempfile.TemporaryDirectory(prefix="modelops-monitor-") as scratch:
                reference = load_reference(
                    model,
                    release.version,
                    policy=model_policy,
                    root=root,
                    scratch=Path(scratch),
                    pinned_digest=release.digest,
                )
                step(f"{release.role} v{release.version}: reading {window}")
                results[release.role] = measure_release(
                    release,
                    reference,
                    store=store,
                    model=model,
                    window=window,
                    policy=policy,
                    model_policy=model_policy,
                    labels=labels,
                    shadow=join,
                )
        except InputError as error:
            errors.append(f"{model} {release.role} v{release.version}: {error}")
            results[release.role] = ReleaseResult(release, problem=str(error), failed=True)
        if join is not None and release.shadow:
            join.shadow_done()
    if join is not None:
        for role, result in results.items():
            if result.release.shadow and result.problem is None:
                results[role] = replace(result, shadow=join.result())
    ordered = tuple(results[r.role] for r in releases)
    return MonitorReport(model, environment, window, ordered, tuple(errors))
