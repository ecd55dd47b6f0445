"""`modelops rollout analyze | advance`: judge canary steps from Prometheus, and propose the next move.

Exit codes: 0 the analysis ran (step, complete or wait; `advance` opened what it should), 1 a
rollout was judged to abort, 2 unusable input (unknown model or environment, no rollout in
progress, Prometheus unreachable after its retries).
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from modelops.cli.common import console, errors, input_errors
from modelops.errors import EXIT_GATE_FAILED, EXIT_INPUT_ERROR

if TYPE_CHECKING:
    from modelops.rollouts.analysis_run import Analysis

_PROMETHEUS = typer.Option(
    ..., "--prometheus", envvar="MODELOPS_PROMETHEUS_URL", help="Prometheus base URL (http://host:9090)."
)
_PUSHGATEWAY = typer.Option(
    None,
    envvar="MODELOPS_PUSHGATEWAY",
    help="Pushgateway (host:port or URL) for the rollout panel; none: skip.",
)
_COLOURS = {"step": "green", "complete": "green", "wait": "yellow", "abort": "red"}


def _figure(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "-"


def _show(analysis: Analysis) -> None:
    verdict, rollout = analysis.verdict, analysis.rollout
    colour = _COLOURS[verdict.decision]
    console.print(
        f"[bold {colour}]{verdict.decision.upper()}[/] {escape(rollout.model)}"
        f" v{escape(rollout.candidate_version)} at {rollout.state.traffic.candidate}%"
        f" in {escape(rollout.environment)}",
        highlight=False,
        soft_wrap=True,
    )
    for reason in verdict.reasons:
        console.print(f"  • {escape(reason)}", highlight=False, soft_wrap=True)
    if verdict.checks:
        table = Table("check", "candidate", "stable", "limit", "outcome")
        for check in verdict.checks:
            table.add_row(
                check.name,
                _figure(check.candidate),
                _figure(check.stable),
                check.limit,
                f"{check.outcome} {check.detail}".strip(),
            )
        console.print(table)


def _publish(analyses: list[Analysis], gateway: str | None) -> None:
    if not gateway:
        return
    from modelops.monitoring.publish import PublishError, push, push_login
    from modelops.rollouts.analysis_publish import JOB, registry_for

    login = push_login(os.environ)
    for analysis in analyses:
        try:
            push(
                registry_for(analysis, now=time.time()),
                gateway=gateway,
                model=analysis.rollout.model,
                job=JOB,
                login=login,
            )
        except PublishError as error:  # the verdict stands and is recorded; only the panel misses it
            errors.print(f"[yellow]warning:[/] {escape(str(error))}", highlight=False, soft_wrap=True)


def _run(models: list[str] | None, env: str, prometheus: str, pushgateway: str | None) -> list[Analysis]:
    from modelops.config import load_environment, project_root
    from modelops.errors import InputError
    from modelops.gitops.repository.gitrepo import Repo
    from modelops.registry import configure
    from modelops.rollouts.analysis_run import analyze, rollout_of, rollouts_in_progress
    from modelops.rollouts.queries import Prometheus

    root = project_root()
    environment = load_environment(env, root=root)
    repo = Repo(root)
    if models is not None:  # named: each must be a canary in progress
        rollouts = [rollout_of(repo, model=name, environment=env) for name in models]
    else:  # every candidate in the environment: a shadow is the monitor's to judge, and is skipped
        rollouts = []
        for name in rollouts_in_progress(repo, environment=env):
            try:
                rollouts.append(rollout_of(repo, model=name, environment=env))
            except InputError as skipped:
                errors.print(f"skipped: {escape(str(skipped))}", highlight=False, soft_wrap=True)
    if not rollouts:
        return []
    configure(root)
    analyses = analyze(rollouts, environment=environment, prometheus=Prometheus(prometheus), now=time.time())
    _publish(analyses, pushgateway)
    return analyses


def analyze(
    model: str = typer.Argument(..., help="Model name (gitops/models/<model>)."),
    env: str = typer.Option(..., help="Environment whose rollout is judged."),
    prometheus: str = _PROMETHEUS,
    pushgateway: str = _PUSHGATEWAY,
) -> None:
    """Judge the current canary step: step, complete, abort or wait, with the evidence. Recorded."""
    with input_errors():
        (analysis,) = _run([model], env, prometheus, pushgateway)
    _show(analysis)
    if analysis.verdict.decision == "abort":
        raise typer.Exit(EXIT_GATE_FAILED)


def advance(
    env: str = typer.Option(..., help="Environment whose rollouts advance."),
    model: list[str] = typer.Option(
        None, help="Only this model (repeatable); default: every rollout in progress."
    ),
    prometheus: str = _PROMETHEUS,
    pushgateway: str = _PUSHGATEWAY,
) -> None:
    """Analyse every rollout in progress and open its step, complete or abort pull request."""
    from modelops.config import load_environment, project_root
    from modelops.errors import InputError
    from modelops.gitops.repository.gitrepo import Repo
    from modelops.rollouts.analysis_advance import advance as propose

    with input_errors():
        analyses = _run(model or None, env, prometheus, pushgateway)
        if not analyses:
            console.print(f"no canary rollout in progress in {escape(env)}", highlight=False)
            return
        root = project_root()
        repo, environment = Repo(root), load_environment(env, root=root)
        aborted = unfinished = False
        for analysis in analyses:
            _show(analysis)
            try:
                done = propose(repo, root, analysis, environment=environment)
            except InputError as error:  # this rollout's move could not be proposed; the others still are
                errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
                unfinished = True
                continue
            aborted |= analysis.verdict.decision == "abort"
            if done.note:
                console.print(f"  {escape(done.note)}", highlight=False, soft_wrap=True)
            if done.proposal is not None and done.opening is not None:
                console.print(
                    f"  proposed {done.proposal.branch} at {done.proposal.commit[:12]}", highlight=False
                )
                if done.opening.url:
                    console.print(f"  {done.opening.url}", highlight=False, markup=False, soft_wrap=True)
                else:
                    steps = "\n    ".join(done.opening.by_hand)
                    console.print(
                        f"  to open it:\n    {steps}", highlight=False, markup=False, soft_wrap=True
                    )
                if done.opening.failure:  # pushed, no pull request: the round did not finish
                    unfinished = True
                    errors.print(f"  [red]{escape(done.opening.failure)}[/]", highlight=False, soft_wrap=True)
            if done.auto_merge:
                console.print(f"  {escape(done.auto_merge)}", highlight=False, soft_wrap=True)
    if unfinished:
        raise typer.Exit(EXIT_INPUT_ERROR)
    if aborted:
        raise typer.Exit(EXIT_GATE_FAILED)
