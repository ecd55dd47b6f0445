"""The one rule on a plan's caution, each bound on both sides, and the plan's form in an overlay."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modelops.config.environment import RolloutPolicy
from modelops.errors import InputError
from modelops.rollouts import plan_schedule
from modelops.rollouts.plan_schedule import Schedule
from tests.rollouts.plan_histories import prod_policy

POLICY = prod_policy()
FLOOR = POLICY.plan.minimum  # type: ignore[union-attr]
LAST = POLICY.steps[-1]


def _schedule(steps, bake=None) -> Schedule:
    return Schedule(tuple(steps), tuple([bake or FLOOR.min_bake_minutes] * len(steps)))


def test_the_least_cautious_plan_allowed_passes() -> None:
    assert plan_schedule.problems(_schedule([FLOOR.max_first_step, LAST]), POLICY) == []


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        (_schedule([FLOOR.max_first_step + 1, LAST]), "exceeds the minimum's largest first step"),
        (_schedule([LAST]), f"1 steps, fewer than the minimum's {FLOOR.min_steps}"),
        (_schedule([5, LAST], bake=FLOOR.min_bake_minutes - 1), "shorter than the minimum's"),
        (_schedule([5, LAST - 1]), f"not the policy's last step {LAST}%"),
        (_schedule([5, 60]), f"not the policy's last step {LAST}%"),
        (_schedule([10, 5, LAST]), "must be increasing"),
        (_schedule([0, 10, LAST]), "must be increasing"),
        (Schedule((5, LAST), (60,)), "one bake time per step"),
    ],
)
def test_a_plan_less_cautious_than_the_minimum_is_refused(schedule: Schedule, problem: str) -> None:
    found = plan_schedule.problems(schedule, POLICY)
    assert any(problem in p for p in found), found


def test_a_plan_is_refused_where_there_is_nothing_to_judge_it_by() -> None:
    direct = RolloutPolicy(strategy="direct")
    assert plan_schedule.problems(_schedule([5, LAST]), direct) == [
        "a rollout plan, but the environment's strategy is direct"
    ]
    unbounded = RolloutPolicy(strategy="canary", steps=[10, 25, 50])
    assert "sets no gitops.rollout.plan" in plan_schedule.problems(_schedule([5, LAST]), unbounded)[0]


def test_annotations_round_trip_and_malformed_ones_name_the_file() -> None:
    schedule = Schedule((2, 10, 50), (240, 240, 240))
    assert plan_schedule.from_annotations(plan_schedule.as_annotations(schedule), where="t.yaml") == schedule
    assert plan_schedule.from_annotations({"other": "x"}, where="t.yaml") is None
    for said, message in [
        ({plan_schedule.STEPS_ANNOTATION: "2,50"}, "rollout-bake-minutes is missing"),
        ({plan_schedule.STEPS_ANNOTATION: "2, 50", plan_schedule.BAKE_ANNOTATION: "60,60"}, "whole numbers"),
        ({plan_schedule.STEPS_ANNOTATION: "2,50", plan_schedule.BAKE_ANNOTATION: 60}, "whole numbers"),
        ({plan_schedule.STEPS_ANNOTATION: "-2,50", plan_schedule.BAKE_ANNOTATION: "60,60"}, "whole numbers"),
        (
            {plan_schedule.STEPS_ANNOTATION: "2,50", plan_schedule.BAKE_ANNOTATION: "60"},
            "2 rollout steps but 1",
        ),
    ]:
        with pytest.raises(InputError, match=rf"^t\.yaml: .*{message}"):
            plan_schedule.from_annotations(said, where="t.yaml")


def _bounds(**changes) -> dict:
    bounds = POLICY.plan.model_dump()  # type: ignore[union-attr]
    for key, value in changes.items():
        if key in bounds["minimum"]:
            bounds["minimum"][key] = value
        else:
            bounds[key] = value
    return bounds


@pytest.mark.parametrize(
    ("steps", "changes", "message"),
    [
        ([30, 50], {}, "less cautious than plan.minimum"),
        (
            [10, 25, 50],
            {"cautious_first_step": FLOOR.max_first_step + 1},
            "cautious_first_step must not exceed",
        ),
        ([10, 25, 50], {"cautious_steps": 1}, "greater than or equal to 2"),
        ([10, 25, 50], {"cautious_bake_minutes": FLOOR.min_bake_minutes - 1}, "at least minimum.min_bake"),
        ([10, 25, 50], {"confident_failure_rate": 0.3}, "must be below cautious_failure_rate"),
        ([10, 25, 50], {"min_prior_strength": 30}, "must not exceed max_prior_strength"),
        ([10, 25, 50], {"max_first_step": 49, "min_steps": 3}, "do not fit between max_first_step"),
    ],
)
def test_environment_bounds_that_contradict_themselves_are_refused(steps, changes, message) -> None:
    with pytest.raises(ValidationError, match=message):
        RolloutPolicy(strategy="canary", steps=steps, plan=_bounds(**changes))
    assert RolloutPolicy(strategy="canary", steps=[10, 25, 50], plan=_bounds()).plan is not None


def test_a_plan_block_belongs_to_a_canary_environment() -> None:
    with pytest.raises(ValidationError, match="canary rollouts only"):
        RolloutPolicy(strategy="direct", plan=_bounds())
