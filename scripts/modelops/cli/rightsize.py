"""`modelops rightsize MODEL --env ENV`: requests and limits from the release's usage, as a pull request."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from modelops.cli.common import console
from modelops.cli.release import run_release_command

if TYPE_CHECKING:
    from pathlib import Path

    from modelops.gitops.repository.gitrepo import Repo
    from modelops.gitops.repository.pull_request import Proposal
    from modelops.rightsizing.propose import Outcome


def _show(outcome: Outcome) -> None:
    from modelops.rightsizing.report import basis, capacity_saved, rows

    evidence = outcome.evidence
    recommendation = evidence.recommendation
    console.print(f"[bold]{evidence.model} in {evidence.environment}[/] (stable release)", highlight=False)
    for line in basis(evidence):
        console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    if recommendation.recommended is not None:
        table = Table("value", "current", "recommended", "change")
        for row in rows(recommendation.current, recommendation.recommended):
            table.add_row(*row)
        console.print(table)
        saved = capacity_saved(recommendation.current, recommendation.recommended, evidence.replicas)
        console.print(f"capacity saved: {escape(saved)}", highlight=False, soft_wrap=True)
    for note in (*recommendation.notes, *evidence.candidate_notes):
        console.print(f"  [yellow]•[/] {escape(note)}", highlight=False, soft_wrap=True)


def rightsize(
    model: str = typer.Argument(..., help="Model name (gitops/models/<model>)."),
    env: str = typer.Option(..., help="Environment whose overlay and Prometheus history are read."),
    prometheus: str = typer.Option(
        ..., envvar="MODELOPS_PROMETHEUS_URL", help="Prometheus holding the cluster's cAdvisor history."
    ),
    window: str = typer.Option(None, help="History to read (14d, 36h); default: the policy's window."),
) -> None:
    """Propose the stable predictor's requests and limits from its usage history, as a pull request.

    Exit 0 with a pull request, or with none when nothing changes; 1 when the history is too short."""
    from modelops.errors import PolicyRefusal
    from modelops.rightsizing.prometheus import connect
    from modelops.rightsizing.propose import rightsize as run

    def action(repo: Repo, root: Path) -> Proposal | None:
        outcome = run(repo, root, model=model, environment=env, query=connect(prometheus), window=window)
        _show(outcome)
        refused = outcome.evidence.recommendation.refused
        if refused is not None:
            raise PolicyRefusal(f"{model} in {env}: {refused}")
        if outcome.proposal is None:
            console.print(
                f"no change: {model}'s resources in {env} already match the recommendation", highlight=False
            )
        return outcome.proposal

    run_release_command(action, env)
