"""`modelops rollout ...`: move a canary by pull request (step, complete, abort, shadow).

Each move is its own subcommand so the commands that judge and plan rollouts sit beside them
under one group (`modelops rollout --help`).
"""

from __future__ import annotations

import typer

from modelops.cli import rollout_analysis
from modelops.cli.release import run_release_command
from modelops.cli.rollout_plan import plan

app = typer.Typer(
    help="Move a canary by pull request: step, complete, abort or shadow.",
    no_args_is_help=True,
)
app.command("plan")(plan)

_MODEL = typer.Argument(..., help="Model name (gitops/models/<model>).")
_ENV = typer.Option(..., help="Environment whose rollout moves.")


def _move(model: str, env: str, action: str, shadow_percent: int | None = None) -> None:
    from modelops.gitops.releases import promotion

    run_release_command(
        lambda repo, root: promotion.rollout(
            repo, root, model=model, environment=env, action=action, shadow_percent=shadow_percent
        ),
        env,
    )


@app.command("step")
def step(model: str = _MODEL, env: str = _ENV) -> None:
    """Move the candidate's traffic to the environment's next step."""
    _move(model, env, "step")


@app.command("complete")
def complete(model: str = _MODEL, env: str = _ENV) -> None:
    """The candidate becomes stable and takes all traffic."""
    _move(model, env, "complete")


@app.command("abort")
def abort(model: str = _MODEL, env: str = _ENV) -> None:
    """Remove the candidate; stable takes all traffic again."""
    _move(model, env, "abort")


@app.command("shadow")
def shadow(
    model: str = _MODEL,
    percent: int = typer.Argument(..., help="Percent (1-100) of requests mirrored to the candidate."),
    env: str = _ENV,
) -> None:
    """Mirror a share of requests to the candidate; its answers are discarded."""
    _move(model, env, "shadow", percent)


# The commands that judge rollouts from live metrics (their module imports nothing heavy either).
app.command("analyze")(rollout_analysis.analyze)
app.command("advance")(rollout_analysis.advance)
