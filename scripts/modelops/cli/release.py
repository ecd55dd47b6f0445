"""`modelops promote | rollback`, and the runner of `modelops rollout`'s moves: each proposes one PR."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from modelops.cli.common import console, errors, fail_input, input_errors
from modelops.errors import EXIT_GATE_FAILED, PolicyRefusal

if TYPE_CHECKING:
    from modelops.gitops.repository.gitrepo import Repo
    from modelops.gitops.repository.pull_request import Proposal


def _report(repo: Repo, proposal: Proposal) -> None:
    from modelops.gitops.repository.pull_request import open_pull_request

    # soft_wrap: the printed commands must survive copy and paste, however narrow the terminal.
    console.print(f"[bold]{escape(proposal.title)}[/]", highlight=False, soft_wrap=True)
    console.print(
        f"branch {proposal.branch} at {proposal.commit[:12]}, changing:", highlight=False, soft_wrap=True
    )
    for path in proposal.changed:
        console.print(f"  {path}", highlight=False, soft_wrap=True)
    opening = open_pull_request(repo, proposal)
    if opening.url:
        console.print(opening.url, highlight=False, markup=False, soft_wrap=True)
        return
    why = "" if opening.failure else "gh is not available or not authenticated; "
    steps = "\n  ".join(opening.by_hand)
    console.print(
        f"{why}to open the pull request run:\n  {steps}", highlight=False, markup=False, soft_wrap=True
    )
    if opening.failure:  # the branch exists and its pull request does not: the command did not finish
        raise fail_input(opening.failure)


def run_release_command(action, *environments: str | None) -> None:
    """Check the environments by name, run `action` on the repository, and report its pull request
    (an action returning None proposes nothing)."""
    from modelops.config import load_environment, project_root
    from modelops.gitops.repository.gitrepo import Repo

    root = project_root()
    with input_errors():
        for name in environments:
            if name is not None:  # a name from environments/, never a path: refused before git runs
                load_environment(name, root=root)
        try:
            repo = Repo(root)
            proposal = action(repo, root)
        except PolicyRefusal as refusal:
            errors.print(f"[bold red]refused:[/] {escape(str(refusal))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_GATE_FAILED) from None
        if proposal is not None:  # None: the action found nothing to change and said so
            _report(repo, proposal)


def promote(
    model: str = typer.Argument(..., help="Model name (gitops/models/<model>)."),
    version: str = typer.Option(None, help="Registered version to promote."),
    to: str = typer.Option(None, "--to", help="Target environment."),
    source: str = typer.Option(None, "--from", help="Promote what runs here to the next environment."),
) -> None:
    """Pin a registered version in one environment's overlay, enforcing the promotion ladder."""
    from modelops.gitops.releases import promotion
    from modelops.registry import configure

    def action(repo: Repo, root):
        configure(root)
        return promotion.promote(repo, root, model=model, version=version, to=to, source=source)

    run_release_command(action, to, source)


def rollback(
    model: str = typer.Argument(..., help="Model name."),
    env: str = typer.Option(..., help="Environment to roll back."),
) -> None:
    """Restore the previous stable release, found in the overlay's git history."""
    from modelops.gitops.releases import promotion

    run_release_command(lambda repo, root: promotion.rollback(repo, root, model=model, environment=env), env)
