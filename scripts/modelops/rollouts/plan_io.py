"""The plan for one model in one environment, from the repository and the registry as they are now."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from modelops.config import load_environment
from modelops.errors import InputError
from modelops.gitops.repository.gitrepo import Repo
from modelops.rollouts.history import ModelHistory
from modelops.rollouts.history_io import model_history, models_in
from modelops.rollouts.plan import Plan, counts, plan


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
    histories = {
        m: model_history(repo, m, environment, rev=rev) for m in models_in(repo, environment, rev=rev)
    }
    own = histories.get(model) or model_history(repo, model, environment, rev=rev)
    platform = {m: counts(h) for m, h in histories.items()}
    made = plan(own, platform, policy, now=time.time() if now is None else now)
    return Recommendation(made, own, len(platform))
