"""The rollout history: segmenting overlay states, and reading them from a real git repository and a
real MLflow without believing what does not hold together."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import mlflow
import pytest

from modelops.gitops.releases.transitions import OverlayState, Traffic
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.rollouts.history import rollouts_of
from modelops.rollouts.history_io import model_history, models_in
from modelops.rollouts.plan import Counts, counts
from modelops.rollouts.records import AnalysisRecord, experiment_name, log_analysis
from tests.conftest import REPO_ROOT
from tests.gitops.conftest import init_repository
from tests.rollouts.plan_histories import (
    DAY,
    Timeline,
    add_model,
    commit_state,
    commit_timeline,
    git,
    register,
    release,
)


def test_each_way_a_rollout_ends_is_told_apart() -> None:
    timeline = Timeline()
    timeline.rollout()
    timeline.rollout("abort", steps=(10, 25))
    timeline.rollout("rollback")
    in_progress = timeline.rollout("open", steps=(10,))
    found = rollouts_of(timeline.revisions)
    assert [(r.candidate.version, [s.label for s in r.stages], r.outcome) for r in found] == [
        ("2", ["10%", "25%", "50%"], "completed"),
        ("3", ["10%", "25%"], "aborted"),
        ("4", ["10%", "25%", "50%"], "rolled_back"),
        (in_progress.version, ["10%"], "in_progress"),
    ]
    # Step trials: 3 steps + completion, 1 passed + the failed 25 %, 3 steps + the rolled-back
    # completion; the open rollout's current step is not judged yet.
    history = timeline.history()
    assert counts(history) == Counts(2, 4 + 2 + 4)
    assert [t.stage for t in history.trials if t.failed] == ["25%", "complete"]


def test_commits_that_move_nothing_are_no_rollout_moves() -> None:
    timeline = Timeline()
    candidate = release("2")
    stable = timeline.stable
    timeline.commit(OverlayState(stable))  # a comment or a replica count changed: the same state
    timeline.commit(OverlayState(stable, candidate, Traffic(90, 10)))
    timeline.commit(OverlayState(stable, candidate, Traffic(90, 10)))
    timeline.commit(OverlayState(stable, candidate, Traffic(100, 0, 20)))  # shadow
    timeline.commit(OverlayState(stable, candidate, Traffic(75, 25)))
    timeline.commit(OverlayState(candidate))
    [rollout] = rollouts_of(timeline.revisions)
    assert [s.label for s in rollout.stages] == ["10%", "shadow 20%", "25%"]
    assert rollout.outcome == "completed"


def test_a_candidate_replaced_mid_rollout_ends_the_first_as_aborted() -> None:
    timeline = Timeline()
    stable = timeline.stable
    timeline.commit(OverlayState(stable, release("2"), Traffic(90, 10)))
    timeline.commit(OverlayState(stable, release("3"), Traffic(90, 10)))
    timeline.commit(OverlayState(release("3")))
    assert [(r.candidate.version, r.outcome) for r in rollouts_of(timeline.revisions)] == [
        ("2", "aborted"),
        ("3", "completed"),
    ]


def test_a_direct_change_of_stable_is_no_rollback_of_an_older_rollout() -> None:
    timeline = Timeline()
    first_stable = timeline.stable
    timeline.rollout()
    timeline.commit(OverlayState(release("9")))  # someone pinned another release directly
    timeline.commit(OverlayState(first_stable))  # and later the first one again
    [rollout] = rollouts_of(timeline.revisions)
    assert rollout.outcome == "completed"


def _analysis(model: str, candidate: str, stable: str, percent: int, when: float, decision: str, **kw):
    return AnalysisRecord(
        model, "prod", candidate, stable, percent, when - 600, when, decision, kw.pop("reason", ""), **kw
    )


@pytest.fixture()
def platform(tmp_path: Path) -> Path:
    root = tmp_path / "platform"
    for folder in ("environments", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    return root


def _model() -> str:
    return f"plan-{uuid.uuid4().hex[:8]}"  # the registry is the session's: one model per test


def test_the_history_read_from_git_and_mlflow_matches_the_synthetic_one(platform: Path) -> None:
    model, start = _model(), time.time() - 300 * DAY
    add_model(platform, model)
    init_repository(platform, "Platform")
    timeline = Timeline(start=start)
    timeline.rollout()
    timeline.rollout("abort", steps=(10, 25))
    timeline.rollout("rollback")
    passed = timeline.rollout()
    commit_timeline(platform, model, timeline)
    register(model, timeline.next_version - 1)
    repo = Repo(platform)

    # A record whose analysis asked to abort a step git shows passed: that step failed.
    first = rollouts_of(timeline.revisions)[0]
    log_analysis(_analysis(model, "2", "1", 25, first.stages[1].entered + 1800, "abort", reason="p99 x2"))
    log_analysis(_analysis(model, "2", "1", 10, first.stages[0].entered + 1800, "step"))
    read = model_history(repo, model, "prod")
    synthetic = timeline.history(model)

    assert [(r.candidate, r.outcome, [s.label for s in r.stages]) for r in read.rollouts] == [
        (r.candidate, r.outcome, [s.label for s in r.stages]) for r in synthetic.rollouts
    ]
    assert [(t.stage, t.failed) for t in read.trials if t.rollout != 0] == [
        (t.stage, t.failed) for t in synthetic.trials if t.rollout != 0
    ]
    assert [(t.stage, t.failed) for t in read.trials if t.rollout == 0] == [
        ("10%", False),
        ("25%", True),  # the analysis said abort; a person stepped on anyway
        ("50%", False),
        ("complete", False),
    ]
    assert counts(read) == Counts(counts(synthetic).failures + 1, counts(synthetic).trials)
    assert read.records_used == 2 and read.set_aside == ()
    assert models_in(repo, "prod") == sorted(["credit-risk", model])
    assert passed.version == read.rollouts[-1].candidate.version


def test_evidence_that_does_not_hold_together_is_set_aside_and_can_only_add_caution(platform: Path) -> None:
    model, start = _model(), time.time() - 300 * DAY
    add_model(platform, model)
    init_repository(platform, "Platform")
    timeline = Timeline(start=start)
    for _ in range(4):
        timeline.rollout()
    commit_timeline(platform, model, timeline)
    # v2 passed its gate; v3's tag is not the word `passed`; v4 passed for another artifact; v5 passed.
    register(model, 6, gate={"3": "PASSED"})
    mlflow.MlflowClient().set_model_version_tag(model, "4", "modelops.artifact_digest", "sha256:" + "e" * 64)

    # Commits that are no rollout move, or cannot be read, around an otherwise sound history.
    traffic = platform / layout.overlay_file(model, "prod", layout.TRAFFIC)
    good = traffic.read_text()
    traffic.write_text("# a comment only\n" + good)
    git(platform, "commit", "--quiet", "-am", "comment", when=timeline.time + 3600)
    traffic.write_text("spec: [unclosed\n")
    git(platform, "commit", "--quiet", "-am", "broken", when=timeline.time + 7200)
    traffic.write_text(good)
    git(platform, "commit", "--quiet", "-am", "fixed", when=timeline.time + 10800)
    # A feature branch's intermediate states never ran: only what was merged counts (v6 entering).
    git(platform, "checkout", "--quiet", "-b", "side")
    stable = timeline.stable
    commit_state(
        platform,
        model,
        OverlayState(stable, release("9"), Traffic(1, 99)),
        when=timeline.time + 4e4,
        message="never merged as such",
    )
    commit_state(
        platform,
        model,
        OverlayState(stable, release("6"), Traffic(90, 10)),
        when=timeline.time + 5e4,
        message="v6",
    )
    git(platform, "checkout", "--quiet", "main")
    git(platform, "merge", "--no-ff", "--quiet", "-m", "Merge side", "side", when=timeline.time + 6e4)

    # Records: another model's, a malformed decision, and one that matches no rollout in git.
    mlflow.set_experiment(experiment_name(model))
    with mlflow.start_run():
        mlflow.set_tags(
            {"modelops.model": "other", "modelops.environment": "prod", "modelops.rollout.decision": "abort"}
        )
    with mlflow.start_run():
        mlflow.set_tags(
            {"modelops.model": model, "modelops.environment": "prod", "modelops.rollout.decision": "yes"}
        )
    log_analysis(_analysis(model, "77", "1", 10, start + 5 * DAY, "step"))

    read = model_history(Repo(platform), model, "prod")
    assert [(r.candidate.version, r.outcome) for r in read.rollouts] == [
        ("2", "completed"),
        ("3", "completed"),
        ("4", "completed"),
        ("5", "completed"),
        ("6", "in_progress"),
    ]
    # v3 and v4 earn nothing: 2 rollouts x 4 trials remain, none failed.
    assert counts(read) == Counts(0, 8)
    notes = "\n".join(read.set_aside)
    assert "v3's passed steps: no gate.prod = passed" in notes
    assert "v4's passed steps" in notes
    assert "not valid YAML" in notes
    assert "names other in prod" in notes
    assert "decision 'yes' is not a decision" in notes
    assert "v77 at 10% matches no rollout step in git" in notes
    assert len(read.set_aside) == 6
