"""One round of canary analysis: read the overlays, measure their windows, judge, record.

The overlay at HEAD says what rolls out and at which step; the step began when its traffic.yaml
last changed on the branch's own line (`--first-parent`: what was merged is what runs). A commit
date is the author's to set, so the rollout history bounds it too: a step never starts before the
end of a window already recorded for another step of the same rollout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from modelops.config.environment import Environment
from modelops.errors import InputError
from modelops.gitops.releases.transitions import OverlayState
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.overlay_files import read_state
from modelops.rollouts import records
from modelops.rollouts.analysis import (
    Limits,
    ReleaseMeasures,
    Verdict,
    Window,
    consecutive_empty_windows,
    decide,
    evidence_of,
    limits_of,
    window_for,
)
from modelops.rollouts.queries import Planned, Prometheus, measure


@dataclass(frozen=True)
class Rollout:
    model: str
    environment: str
    state: OverlayState
    step_start: float  # unix seconds: the commit that set the current step

    @property
    def candidate_version(self) -> str:
        return self.state.candidate.version if self.state.candidate else ""


@dataclass(frozen=True)
class Analysis:
    rollout: Rollout
    window: Window
    candidate: ReleaseMeasures
    stable: ReleaseMeasures
    verdict: Verdict
    record_id: str = ""


def _step_started(repo: Repo, model: str, environment: str) -> float:
    path = layout.overlay_file(model, environment, layout.TRAFFIC)
    stamp = repo.git("log", "-1", "--first-parent", "--format=%ct", "HEAD", "--", path).strip()
    if not stamp:
        raise InputError(f"{path}: not in the branch's history")
    return float(stamp)


def rollout_of(repo: Repo, *, model: str, environment: str) -> Rollout:
    """The canary rollout `model` has in progress in `environment`, as HEAD holds it."""
    records.experiment_name(model)  # a model is a name, never a path
    texts = repo.texts_at("HEAD", str(layout.model_dir(model)))
    if not texts:
        raise InputError(f"{layout.model_dir(model)}: no such model in the repository")
    state = read_state(texts, model, environment)
    where = layout.overlay_file(model, environment, layout.TRAFFIC)
    if state.candidate is None:
        raise InputError(f"{where}: no rollout in progress")
    if state.traffic.candidate <= 0:
        raise InputError(
            f"{where}: the candidate is a shadow (mirror {state.traffic.mirror}%); the monitor's shadow "
            "agreement judges it, not the canary analysis"
        )
    return Rollout(model, environment, state, _step_started(repo, model, environment))


def rollouts_in_progress(repo: Repo, *, environment: str) -> list[str]:
    """Models whose overlay in `environment` holds a canary candidate at HEAD, by name."""
    listed = repo.git("ls-tree", "-r", "--name-only", "-z", "HEAD", "--", str(layout.GITOPS / "models"))
    candidates = []
    for path in listed.split("\0"):
        where = layout.parse_overlay_path(path)
        if where and where[1] == environment and path.endswith(f"/{layout.CANDIDATE}"):
            candidates.append(where[0])
    return sorted(set(candidates))


def _step_floor(rollout: Rollout, history: Sequence[records.AnalysisRecord]) -> float:
    """The step's start, raised past any window recorded for another step of this rollout."""
    other_steps = [
        r.window_end
        for r in history
        if r.candidate_version == rollout.candidate_version
        and r.stable_version == rollout.state.stable.version
        and r.candidate_percent != rollout.state.traffic.candidate
        and r.window_end > rollout.step_start
    ]
    return max([rollout.step_start, *other_steps])


def limits_of_step(limits: Limits, state: OverlayState) -> Limits:
    """The environment's limits with the bake time the rollout's plan gives its current step."""
    planned = state.plan.bake_at(state.traffic.candidate) if state.plan is not None else None
    if planned is None:
        return limits
    return replace(limits, bake_minutes=max(planned, 1))


def analyze(
    rollouts: Sequence[Rollout],
    *,
    environment: Environment,
    prometheus: Prometheus,
    now: float,
    record: bool = True,
) -> list[Analysis]:
    """Judge every rollout's current step; with `record`, each judgement becomes a history record."""
    limits: Limits = limits_of(environment)
    last = environment.gitops.rollout.steps[-1]
    histories = {r.model: records.analyses(r.model, environment=environment.name) for r in rollouts}
    planned: list[Planned] = []
    starts: dict[str, float] = {}
    step_limits: dict[str, Limits] = {}
    for rollout in rollouts:
        starts[rollout.model] = _step_floor(rollout, histories[rollout.model])
        step_limits[rollout.model] = limits_of_step(limits, rollout.state)
        window = window_for(
            starts[rollout.model],
            now,
            candidate_percent=rollout.state.traffic.candidate,
            last_step=rollout.state.traffic.candidate >= last,
            limits=step_limits[rollout.model],
        )
        planned.append(Planned(rollout.model, window))
    measured = measure(
        prometheus,
        planned,
        namespace=environment.gitops.destination.namespace,
        interval=limits.policy.interval_seconds,
    )
    results = []
    for rollout, plan in zip(rollouts, planned, strict=True):
        candidate, stable = measured[rollout.model]["candidate"], measured[rollout.model]["stable"]
        empties = consecutive_empty_windows(
            histories[rollout.model],
            candidate_version=rollout.candidate_version,
            stable_version=rollout.state.stable.version,
            candidate_percent=rollout.state.traffic.candidate,
            step_start=starts[rollout.model],
            limits=step_limits[rollout.model],
            current_end=plan.window.end,
        )
        verdict = decide(
            candidate,
            stable,
            window=plan.window,
            limits=step_limits[rollout.model],
            empty_windows_before=empties,
        )
        record_id = ""
        if record:
            record_id = records.log_analysis(
                records.AnalysisRecord(
                    model=rollout.model,
                    environment=environment.name,
                    candidate_version=rollout.candidate_version,
                    stable_version=rollout.state.stable.version,
                    candidate_percent=rollout.state.traffic.candidate,
                    window_start=plan.window.start,
                    window_end=plan.window.end,
                    decision=verdict.decision,
                    reason=verdict.reason,
                    no_data=verdict.no_data,
                    evidence=evidence_of(verdict, candidate, stable),
                )
            )
        results.append(Analysis(rollout, plan.window, candidate, stable, verdict, record_id))
    return results
