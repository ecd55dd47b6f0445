"""`promote` into a canary environment follows the plan the history earns, `rollout step` keeps to it,
and validate (so the pull-request gate) refuses a plan edited below the environment's minimum:
real git, real MLflow, real `kubectl kustomize`."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops.gitops.releases import promotion, transitions
from modelops.gitops.releases.transitions import OverlayState
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.overlay_files import dump, load, read_state
from modelops.gitops.rules.rollout_plan import ROLLOUT_PLAN
from modelops.gitops.validation.validate import validate
from modelops.rollouts import plan_schedule
from modelops.rollouts.plan import schedule_for
from modelops.rollouts.plan_schedule import Schedule
from tests.conftest import REPO_ROOT
from tests.gitops.conftest import init_repository
from tests.rollouts.plan_histories import (
    DAY,
    Timeline,
    add_model,
    commit_state,
    commit_timeline,
    git,
    prod_policy,
    register,
    release,
)
from tests.tools import require_command

POLICY = prod_policy()


def test_the_transitions_carry_the_plan_and_step_along_it() -> None:
    plan = Schedule((2, 7, 50), (240, 240, 240))
    start = OverlayState(release("1"))
    entered = transitions.promote(start, release("2"), POLICY, where="w", plan=plan)
    assert (entered.traffic.candidate, entered.plan) == (2, plan)
    assert transitions.promote(start, release("2"), POLICY, where="w").traffic.candidate == POLICY.steps[0]
    stepped = transitions.step(entered, POLICY, where="w")
    assert (stepped.traffic.candidate, stepped.plan) == (7, plan)  # the plan's 7, not the policy's 10
    shadowed = transitions.shadow(stepped, 20, where="w")
    assert shadowed.plan == plan and transitions.step(shadowed, POLICY, where="w").traffic.candidate == 2
    last = transitions.step(stepped, POLICY, where="w")
    with pytest.raises(InputError, match="the last step; run complete"):
        transitions.step(last, POLICY, where="w")
    assert transitions.complete(last, where="w").plan is None
    assert transitions.abort(last, where="w").plan is None


def _state(root: Path, model: str) -> OverlayState:
    overlay = root / layout.overlay_dir(model, "prod")
    return read_state(
        {str(p.relative_to(root)): p.read_text() for p in overlay.glob("*.yaml")}, model, "prod"
    )


def _platform(tmp_path: Path, *, aborted_days_ago: float | None) -> tuple[Path, str, str]:
    """A repository whose model `plan-…` has 6 clean rollouts in prod, and an abort that many days ago;
    the next version is registered, gated for staging and served there."""
    root, model = tmp_path / "platform", f"plan-{uuid.uuid4().hex[:8]}"
    for folder in ("environments", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    add_model(root, model)
    init_repository(root, "Platform")
    timeline = Timeline(start=time.time() - 200 * DAY)
    for _ in range(6):
        timeline.rollout()
    if aborted_days_ago is not None:
        timeline.rollout("abort", steps=(10, 25), at=time.time() - aborted_days_ago * DAY)
    commit_timeline(root, model, timeline)
    new = str(timeline.next_version)
    register(model, int(new))
    commit_state(
        root,
        model,
        OverlayState(release(new)),
        when=time.time() - 3600,
        message="staging",
        environment="staging",
    )
    return root, model, new


def test_promote_enters_at_the_plans_first_step_and_rollout_step_follows_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, model, new = _platform(tmp_path, aborted_days_ago=3)
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    repo = Repo(root)
    cautious = schedule_for(1.0, POLICY)

    proposal = promotion.promote(repo, root, model=model, version=new, to="prod", source=None)
    assert f"Rollout plan (learned from the rollout history): {cautious.describe()}" in proposal.body
    assert f"recent failure, most cautious schedule: v{int(new) - 1} failed at 25%" in proposal.body
    git(root, "merge", "--no-ff", "--quiet", "-m", "Merge promote", proposal.branch)
    state = _state(root, model)
    assert state.plan == cautious
    assert (state.candidate.version, state.traffic.candidate) == (new, cautious.steps[0])  # type: ignore[union-attr]

    # A plan edited below the minimum on the branch itself is not followed: the step is refused.
    traffic = root / layout.overlay_file(model, "prod", layout.TRAFFIC)
    written = traffic.read_text()
    route = load(written, str(traffic))
    route["metadata"]["annotations"][plan_schedule.STEPS_ANNOTATION] = "2,4,10,22,50"
    route["metadata"]["annotations"][plan_schedule.BAKE_ANNOTATION] = "240,1,240,240,240"
    traffic.write_text(dump(route))
    git(root, "commit", "--quiet", "-am", "shorter bake")
    with pytest.raises(InputError, match=r"traffic\.yaml: rollout plan: a bake of 1 min, shorter than"):
        promotion.rollout(repo, root, model=model, environment="prod", action="step")
    traffic.write_text(written)
    git(root, "commit", "--quiet", "-am", "the plan as promoted")

    for expected in cautious.steps[1:]:
        moved = promotion.rollout(repo, root, model=model, environment="prod", action="step")
        assert f"The rollout plan bakes {cautious.bake_at(expected)} min at {expected}%" in moved.body
        git(root, "merge", "--no-ff", "--quiet", "-m", "Merge step", moved.branch)
        assert _state(root, model).traffic.candidate == expected  # the plan's step, not the policy's
    done = promotion.rollout(repo, root, model=model, environment="prod", action="complete")
    git(root, "merge", "--no-ff", "--quiet", "-m", "Merge complete", done.branch)
    assert _state(root, model).plan is None
    traffic = (root / layout.overlay_file(model, "prod", layout.TRAFFIC)).read_text()
    assert "modelops.io/rollout" not in traffic  # no plan outlives its rollout


def test_promote_without_history_states_the_policys_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _, _ = _platform(tmp_path, aborted_days_ago=3)  # the platform has a record; this model none
    fresh = f"plan-{uuid.uuid4().hex[:8]}"
    add_model(root, fresh)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", f"{fresh} joins the platform")
    register(fresh, 2)
    for environment in ("staging", "prod"):
        version = "2" if environment == "staging" else "1"
        commit_state(
            root,
            fresh,
            OverlayState(release(version)),
            when=time.time(),
            message=environment,
            environment=environment,
        )
    monkeypatch.setenv("MODELOPS_ROOT", str(root))

    proposal = promotion.promote(Repo(root), root, model=fresh, version="2", to="prod", source=None)
    assert (
        "Rollout plan (the policy's schedule): 10% for 60 min, 25% for 60 min, 50% for 60 min"
        in proposal.body
    )
    assert f"no judged rollout step of {fresh} in prod on record" in proposal.body
    git(root, "merge", "--no-ff", "--quiet", "-m", "Merge promote", proposal.branch)
    assert _state(root, fresh).traffic.candidate == POLICY.steps[0]


def test_validate_refuses_a_plan_edited_below_the_minimum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_command("kubectl")
    monkeypatch.setenv("MODELOPS_CRD_SCHEMAS", str(REPO_ROOT.parent / "shared" / "schemas" / "crds"))
    root, model, new = _platform(tmp_path, aborted_days_ago=3)
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    proposal = promotion.promote(Repo(root), root, model=model, version=new, to="prod", source=None)
    git(root, "merge", "--no-ff", "--quiet", "-m", "Merge promote", proposal.branch)
    traffic = root / layout.overlay_file(model, "prod", layout.TRAFFIC)

    def plan_findings() -> list[str]:
        return [str(f) for f in validate(root).findings if f.rule == ROLLOUT_PLAN]

    assert plan_findings() == []  # what promote wrote passes
    written = traffic.read_text()
    steps, bakes = plan_schedule.STEPS_ANNOTATION, plan_schedule.BAKE_ANNOTATION
    for said, problem in [
        ({steps: "30,50", bakes: "240,240"}, "first step 30% exceeds the minimum's largest first step 25%"),
        ({steps: "2,50", bakes: "240,240"}, "2 steps, fewer than the minimum's"),  # prod's minimum is 2
        (
            {steps: "2,4,10,22,50", bakes: "240,5,240,240,240"},
            "a bake of 5 min, shorter than the minimum's 30",
        ),
        (
            {steps: "2,4,10,22,45", bakes: "240,240,240,240,240"},
            "last step 45%, not the policy's last step 50%",
        ),
        ({steps: "2,x", bakes: "240,240"}, "must be comma-separated whole numbers"),
        ({steps: "2,4,10,22,50"}, "rollout-bake-minutes is missing"),
    ]:
        route = load(written, str(traffic))
        route["metadata"]["annotations"] = said
        traffic.write_text(dump(route))
        found = plan_findings()
        if problem.startswith("2 steps"):  # the least cautious count allowed: no finding
            assert found == []
            continue
        [finding] = found
        assert finding.startswith(
            f"{layout.overlay_file(model, 'prod', layout.TRAFFIC)}: HTTPRoute/{model}: "
        )
        assert problem in finding, finding
    traffic.write_text(written)
    assert plan_findings() == []
