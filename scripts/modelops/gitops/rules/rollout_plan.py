"""A rollout plan an overlay records must be at least as cautious as its environment's minimum.

The plan lives in the HTTPRoute's annotations (modelops.rollouts.plan_schedule), written by
`modelops promote` and followed by `modelops rollout step`; a hand-edited one with a bigger first
step, fewer steps or shorter bakes than `gitops.rollout.plan.minimum` is refused here, in
`modelops validate` and so in the pull-request gate. It needs the environment's policy, so it runs per
environment (as the release files do), not as a per-object rule checkov could run.
"""

from __future__ import annotations

from typing import Any

from modelops.config.environment import RolloutPolicy
from modelops.errors import InputError
from modelops.gitops.rules.environment import source_file
from modelops.gitops.rules.finding import Finding
from modelops.gitops.rules.reading import get, mapping, subject
from modelops.rollouts import plan_schedule

ROLLOUT_PLAN = "MODELOPS_ROLLOUT_PLAN"


def check_rollout_plans(
    environment: str, policy: RolloutPolicy, documents: list[dict[str, Any]]
) -> list[Finding]:
    findings = []
    for document in documents:
        if document.get("kind") != "HTTPRoute":
            continue
        where, what = source_file(environment, document), subject(document)
        said = mapping(get(document, "metadata", "annotations"))
        try:
            schedule = plan_schedule.from_annotations(said, where=where)
        except InputError as error:
            findings.append(
                Finding(where, str(error).removeprefix(f"{where}: "), object=what, rule=ROLLOUT_PLAN)
            )
            continue
        if schedule is None:
            continue
        findings += [
            Finding(where, f"rollout plan: {problem}", object=what, rule=ROLLOUT_PLAN)
            for problem in plan_schedule.problems(schedule, policy)
        ]
    return findings
