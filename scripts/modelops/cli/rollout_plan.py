"""`modelops rollout plan MODEL --env ENV`: the step schedule and bake times the rollout history earns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from modelops.cli.common import console, emit_json, input_errors

if TYPE_CHECKING:
    from modelops.rollouts.plan_io import Recommendation


def plan(
    model: str = typer.Argument(..., help="Model name (gitops/models/<model>)."),
    env: str = typer.Option(..., help="Canary environment whose next rollout is planned."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan and its evidence as JSON."),
) -> None:
    """Recommend the step schedule and bake time per step from the rollout history, with its reasons."""
    from modelops.config import load_environment, project_root
    from modelops.gitops.repository.gitrepo import Repo
    from modelops.registry import configure
    from modelops.rollouts.plan_io import recommend

    root = project_root()
    with input_errors(as_json=as_json):
        load_environment(env, root=root)  # a name from environments/, refused before git runs
        configure(root)
        found = recommend(Repo(root), root, model=model, environment=env)
    if as_json:
        emit_json(as_dict(found))
        return
    _render(found)


def as_dict(found: Recommendation) -> dict[str, Any]:
    made, history = found.plan, found.history
    estimate = made.estimate
    return {
        "model": history.model,
        "environment": history.environment,
        "source": made.source,
        "steps": list(made.schedule.steps),
        "bake_minutes": list(made.schedule.bake_minutes),
        "reasons": list(made.reasons),
        "estimate": None
        if estimate is None
        else {
            "failures": estimate.failures,
            "trials": estimate.trials,
            "prior_mean": estimate.prior.mean,
            "prior_strength": estimate.prior.strength,
            "prior_models": estimate.prior.models,
            "posterior_mean": estimate.posterior_mean,
            "upper": estimate.upper,
            "credibility": estimate.credibility,
            "risk": estimate.risk,
            "recent_failure": estimate.recent_failure,
        },
        "platform_models": found.platform_models,
        "rollouts": [
            {
                "candidate": rollout.candidate.version,
                "stable": rollout.stable.version,
                "stages": [stage.label for stage in rollout.stages],
                "outcome": rollout.outcome,
                "started": rollout.started,
                "ended": rollout.ended,
            }
            for rollout in history.rollouts
        ],
        "trials": [
            {"rollout": t.rollout, "stage": t.stage, "failed": t.failed, "at": t.at, "why": t.why}
            for t in history.trials
        ],
        "analysis_records_used": history.records_used,
        "set_aside": list(history.set_aside),
    }


def _render(found: Recommendation) -> None:
    made, history = found.plan, found.history
    source = "the policy's schedule" if made.source == "policy" else "learned from the rollout history"
    console.print(
        f"[bold]Rollout plan for {escape(history.model)} in {escape(history.environment)}[/] ({source})"
    )
    schedule = Table("step", "candidate share", "bake (min)")
    for index, (share, bake) in enumerate(zip(made.schedule.steps, made.schedule.bake_minutes, strict=True)):
        schedule.add_row(str(index + 1), f"{share}%", str(bake))
    console.print(schedule)
    for reason in made.reasons:
        console.print(f"  • {escape(reason)}", highlight=False)
    evidence = Table("candidate", "stable", "steps taken", "outcome", "failed at", title="Evidence: rollouts")
    for index, rollout in enumerate(history.rollouts):
        failed = [t.stage for t in history.trials if t.rollout == index and t.failed]
        evidence.add_row(
            f"v{rollout.candidate.version}",
            f"v{rollout.stable.version}",
            ", ".join(stage.label for stage in rollout.stages),
            rollout.outcome.replace("_", " "),
            ", ".join(failed) or "-",
        )
    if history.rollouts:
        console.print(evidence)
    console.print(
        f"{history.records_used} analysis record(s) matched; {found.platform_models} model(s) in the prior",
        highlight=False,
    )
    for note in history.set_aside:
        console.print(f"  [yellow]set aside:[/] {escape(note)}", highlight=False, soft_wrap=True)
