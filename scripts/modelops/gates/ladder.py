"""Ladder gate: a version reaches an environment only through the one before it."""

from __future__ import annotations

from collections.abc import Mapping

from modelops.gates.result import GateResult


def check_ladder(environment: str, requires: str | None, version_tags: Mapping[str, str]) -> GateResult:
    if requires is None:
        return GateResult("ladder", True, (), {"environment": environment, "requires": None})
    previous = version_tags.get(f"gate.{requires}")
    reasons = (
        ()
        if previous == "passed"
        else (
            f"{environment} requires the version to have passed the {requires} gate first "
            f"(gate.{requires} is {previous or 'not set'})",
        )
    )
    return GateResult(
        "ladder",
        not reasons,
        reasons,
        {"environment": environment, "requires": requires, "previous": previous},
    )
