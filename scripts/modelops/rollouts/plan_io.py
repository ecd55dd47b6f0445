"""The plan for one model in one environment, from the repository and the registry as they are now."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from modelops.config import load_environment
from modelops.errors import InputError
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.rollouts.history import ModelHistory
from modelops.rollouts.history_io import model_history, models_in
from modelops.rollouts.plan import Plan, counts, plan
from modelops.rollouts.records import experiment_name


@dataclass(frozen=True)
class Recommendation:
    plan: Plan
    history: ModelHistory
    platform_models: int


def recommend(
    repo: Repo, root: Path, *, model: str, environment: str, now: float | None = None, rev: str = "HEAD"
) -> Recommendation:
    """Read every model's history in `environment` (the prior) and plan `model`'s next rollout."""
    policy = load_environment(environment, root=root).gitops.rollout
    if policy.strategy != "canary" or policy.plan is None:
        raise InputError(
            f"environments/{environment}.yaml: gitops.rollout.plan is not set (strategy {policy.strategy}); "
            "there is no rollout to plan"
        )
    experiment_name(model)  # the name check, before the name reaches git or a search filter
    served = models_in(repo, environment, rev=rev)
    if model not in served:
        raise InputError(
            f"{layout.overlay_dir(model, environment)}: {model} has no overlay for {environment}"
        )
    histories = {m: model_history(repo, m, environment, rev=rev) for m in served}
    own = histories[model]
    platform = {m: counts(h) for m, h in histories.items()}
    made = plan(own, platform, policy, now=time.time() if now is None else now)
    return Recommendation(made, own, len(platform))
