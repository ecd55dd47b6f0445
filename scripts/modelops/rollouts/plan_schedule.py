"""A rollout's schedule (its steps and the bake time of each), how an overlay records it, and the one
rule that says whether a schedule is at least as cautious as its environment's minimum.

`modelops promote` writes the schedule as annotations of the overlay's HTTPRoute (traffic.yaml), so
the later `modelops rollout step`s follow it and the pull-request gate judges it with `problems`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.config.environment import RolloutPolicy
from modelops.errors import InputError

STEPS_ANNOTATION = "modelops.io/rollout-steps"
BAKE_ANNOTATION = "modelops.io/rollout-bake-minutes"
ANNOTATIONS = (STEPS_ANNOTATION, BAKE_ANNOTATION)
_NUMBERS = re.compile(r"[0-9]{1,6}(,[0-9]{1,6})*")


@dataclass(frozen=True)
class Schedule:
    steps: tuple[int, ...]  # candidate share of traffic at each step, increasing
    bake_minutes: tuple[int, ...]  # how long each step runs before it may move on

    def bake_at(self, percent: int) -> int | None:
        """The bake time of the step at `percent`, None when the schedule has no such step."""
        return dict(zip(self.steps, self.bake_minutes, strict=True)).get(percent)

    def describe(self) -> str:
        return ", ".join(f"{s}% for {b} min" for s, b in zip(self.steps, self.bake_minutes, strict=True))


def problems(schedule: Schedule, policy: RolloutPolicy) -> list[str]:
    """Why `schedule` is not a plan `policy` allows; none when it is.

    Less cautious than the environment's minimum means any of: a first step above
    `minimum.max_first_step`, fewer than `minimum.min_steps` steps, a bake below
    `minimum.min_bake_minutes`, or a last step other than the policy's own (a plan that stopped at
    5 % would jump from 5 % to all traffic at completion). Steps must increase within 1..99.
    """
    if policy.strategy != "canary":
        return [f"a rollout plan, but the environment's strategy is {policy.strategy}"]
    if policy.plan is None:
        return ["a rollout plan, but the environment sets no gitops.rollout.plan to judge it by"]
    floor, steps, bakes = policy.plan.minimum, list(schedule.steps), list(schedule.bake_minutes)
    found = []
    if not steps or len(steps) != len(bakes):
        return [f"a plan needs one bake time per step ({len(steps)} steps, {len(bakes)} bake times)"]
    if any(not 0 < s < 100 for s in steps) or steps != sorted(set(steps)):
        found.append(f"steps {steps} must be increasing percentages between 1 and 99")
    if steps[0] > floor.max_first_step:
        found.append(
            f"first step {steps[0]}% exceeds the minimum's largest first step {floor.max_first_step}%"
        )
    if len(steps) < floor.min_steps:
        found.append(f"{len(steps)} steps, fewer than the minimum's {floor.min_steps}")
    if min(bakes) < floor.min_bake_minutes:
        found.append(f"a bake of {min(bakes)} min, shorter than the minimum's {floor.min_bake_minutes} min")
    if steps[-1] != policy.steps[-1]:
        found.append(f"last step {steps[-1]}%, not the policy's last step {policy.steps[-1]}%")
    return found


def as_annotations(schedule: Schedule) -> dict[str, str]:
    return {
        STEPS_ANNOTATION: ",".join(str(s) for s in schedule.steps),
        BAKE_ANNOTATION: ",".join(str(b) for b in schedule.bake_minutes),
    }


def _numbers(value: Any, name: str, where: str) -> tuple[int, ...]:
    if not isinstance(value, str) or not _NUMBERS.fullmatch(value):
        raise InputError(f"{where}: annotation {name} must be comma-separated whole numbers, not {value!r}")
    return tuple(int(part) for part in value.split(","))


def from_annotations(said: Mapping[str, Any], *, where: str) -> Schedule | None:
    """The schedule an HTTPRoute's annotations record; None when they record none. Half a plan, or
    numbers that are not whole numbers, is an InputError naming `where`."""
    present = [name for name in ANNOTATIONS if name in said]
    if not present:
        return None
    if len(present) != len(ANNOTATIONS):
        missing = next(name for name in ANNOTATIONS if name not in said)
        raise InputError(
            f"{where}: annotation {missing} is missing; a plan needs both {' and '.join(ANNOTATIONS)}"
        )
    steps = _numbers(said[STEPS_ANNOTATION], STEPS_ANNOTATION, where)
    bakes = _numbers(said[BAKE_ANNOTATION], BAKE_ANNOTATION, where)
    if len(steps) != len(bakes):
        raise InputError(f"{where}: {len(steps)} rollout steps but {len(bakes)} bake times")
    return Schedule(steps, bakes)
