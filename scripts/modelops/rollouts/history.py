"""A model's rollout history in one environment, as pure functions over what the overlay held.

The overlay's states along the branch's own line (`git log --first-parent`: what was merged is what
ran) say when a candidate entered, stepped, completed, was aborted or was later rolled back. The
analysis records say at which step an analysis asked to abort; the gate verdicts say whether the
candidate was gated at all. None of them is trusted alone:

- a commit that does not change the release, the candidate or the split is no rollout move;
- an analysis record counts only when it names this model and environment and matches a rollout
  that git shows (its versions, a step the rollout took, a window inside the rollout's time);
  it can only add a failure, never a success;
- a rollout's passed steps count only when its candidate carries `gate.<env> = passed`: a rollout
  nobody gated earns no credit, while its failures still count. Trust is asymmetric on purpose:
  whatever is set aside can only make the plan more cautious.

A step trial is one stage a candidate entered (a traffic share, or a shadow's mirror share) or its
completion; it failed when the rollout was aborted there, when an analysis said abort there, or
(for the completion) when the release was rolled back before anything else replaced it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from modelops.gitops.releases.transitions import OverlayState, Release
from modelops.rollouts.records import AnalysisRecord

Outcome = Literal["completed", "aborted", "rolled_back", "in_progress"]
COMPLETION = "complete"


@dataclass(frozen=True)
class Revision:
    """The overlay as one commit of the branch's first-parent line left it."""

    commit: str
    time: float  # unix seconds, the commit's
    state: OverlayState


@dataclass(frozen=True)
class Stage:
    percent: int  # the candidate's share of traffic
    mirror: int  # the share mirrored to it (shadow); 0 otherwise
    entered: float
    commit: str

    @property
    def label(self) -> str:
        return f"shadow {self.mirror}%" if self.mirror and not self.percent else f"{self.percent}%"


@dataclass(frozen=True)
class Rollout:
    candidate: Release
    stable: Release
    stages: tuple[Stage, ...]
    outcome: Outcome
    ended: float | None = None  # when it completed or was aborted
    ended_commit: str = ""
    rolled_back: float | None = None  # when its release was rolled back, if it was

    @property
    def started(self) -> float:
        return self.stages[0].entered


@dataclass(frozen=True)
class StepTrial:
    rollout: int  # index into the history's rollouts
    stage: str  # "10%", "shadow 5%" or "complete"
    failed: bool
    at: float  # when it was judged: the move past it, the abort, the analysis, or the rollback
    why: str


@dataclass(frozen=True)
class ModelHistory:
    model: str
    environment: str
    rollouts: tuple[Rollout, ...]
    trials: tuple[StepTrial, ...]
    set_aside: tuple[str, ...]  # evidence read and not used, each with its reason
    records_used: int = 0

    @property
    def failures(self) -> int:
        return sum(trial.failed for trial in self.trials)


def _same(a: Release | None, b: Release | None) -> bool:
    return a is not None and b is not None and (a.version, a.digest) == (b.version, b.digest)


def rollouts_of(revisions: Sequence[Revision]) -> list[Rollout]:
    """Every rollout the overlay's states show, oldest first."""
    found: list[Rollout] = []
    current: Rollout | None = None  # the rollout in progress
    watching: int | None = None  # a completed rollout a later return of its old stable rolls back
    previous: OverlayState | None = None
    for revision in revisions:
        state, traffic = revision.state, revision.state.traffic
        stage = Stage(traffic.candidate, traffic.mirror, revision.time, revision.commit)
        if current is not None and not _same(state.candidate, current.candidate):
            completed = state.candidate is None and _same(state.stable, current.candidate)
            outcome: Outcome = "completed" if completed else "aborted"
            found.append(replace(current, outcome=outcome, ended=revision.time, ended_commit=revision.commit))
            watching = len(found) - 1 if completed else None
            current = None
        elif current is not None:
            last = current.stages[-1]
            if (last.percent, last.mirror) != (traffic.candidate, traffic.mirror):
                current = replace(current, stages=(*current.stages, stage))
        elif previous is not None and not _same(previous.stable, state.stable) and state.candidate is None:
            if watching is not None and _same(state.stable, found[watching].stable):
                found[watching] = replace(found[watching], outcome="rolled_back", rolled_back=revision.time)
            watching = None  # any other change of stable ends the watch
        if current is None and state.candidate is not None:
            current = Rollout(state.candidate, state.stable, (stage,), "in_progress")
            watching = None
        previous = state
    if current is not None:
        found.append(current)
    return found


def _matching_rollout(record: AnalysisRecord, rollouts: Sequence[Rollout]) -> tuple[int, Stage] | None:
    for index, rollout in enumerate(rollouts):
        if (record.candidate_version, record.stable_version) != (
            rollout.candidate.version,
            rollout.stable.version,
        ):
            continue
        if not rollout.started <= record.window_end <= (rollout.ended or float("inf")):
            continue
        for stage in rollout.stages:
            if record.candidate_percent == (stage.percent or stage.mirror):
                return index, stage
    return None


def history(
    model: str,
    environment: str,
    *,
    revisions: Sequence[Revision],
    records: Sequence[AnalysisRecord],
    gated: Collection[tuple[str, str]],
    unreadable: Sequence[str] = (),
) -> ModelHistory:
    """The step trials of `model` in `environment`. `gated` holds the (version, artifact digest) pairs
    whose registered version carries `gate.<env> = passed` and that digest; `unreadable` is evidence
    the reader already set aside."""
    rollouts = rollouts_of(revisions)
    set_aside = list(unreadable)
    aborted_at: dict[tuple[int, str], AnalysisRecord] = {}
    used = 0
    for record in records:
        if (record.model, record.environment) != (model, environment):
            set_aside.append(
                f"analysis run {record.run_id}: names {record.model or '?'} in {record.environment or '?'}"
            )
            continue
        match = _matching_rollout(record, rollouts)
        if match is None:
            set_aside.append(
                f"analysis run {record.run_id}: v{record.candidate_version} at {record.candidate_percent}% "
                "matches no rollout step in git"
            )
            continue
        used += 1
        if record.decision == "abort":
            aborted_at.setdefault((match[0], match[1].label), record)
    trials: list[StepTrial] = []
    for index, rollout in enumerate(rollouts):
        trusted = (rollout.candidate.version, rollout.candidate.digest) in gated
        if not trusted:
            set_aside.append(
                f"v{rollout.candidate.version}'s passed steps: no gate.{environment} = passed for "
                "that version and artifact digest in the registry"
            )
        own = _trials(index, rollout, aborted_at)
        trials += [trial for trial in own if trial.failed or trusted]
    return ModelHistory(model, environment, tuple(rollouts), tuple(trials), tuple(set_aside), used)


def _trials(
    index: int, rollout: Rollout, aborted_at: Mapping[tuple[int, str], AnalysisRecord]
) -> list[StepTrial]:
    trials = []
    stages, ended = rollout.stages, rollout.ended or 0.0  # `ended` is set unless in progress
    for position, stage in enumerate(stages):
        last = position + 1 == len(stages)
        if (record := aborted_at.get((index, stage.label))) is not None:
            why = f"the analysis said abort ({record.reason or 'no reason given'})"
            trials.append(StepTrial(index, stage.label, True, record.window_end, why))
        elif not last:
            trials.append(StepTrial(index, stage.label, False, stages[position + 1].entered, "moved on"))
        elif rollout.outcome == "aborted":
            trials.append(StepTrial(index, stage.label, True, ended, "aborted here"))
        elif rollout.outcome != "in_progress":  # in progress: the current stage is not judged yet
            trials.append(StepTrial(index, stage.label, False, ended, "moved on"))
    if rollout.outcome == "completed":
        trials.append(StepTrial(index, COMPLETION, False, ended, "completed"))
    if rollout.outcome == "rolled_back":
        when = rollout.rolled_back or ended
        trials.append(StepTrial(index, COMPLETION, True, when, "rolled back after completing"))
    return trials
