"""`modelops gate`: judge one candidate version for one environment and leave the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from modelops.cli.common import console, emit_json, errors, exit_for, fail_input, steps
from modelops.errors import InputError
from modelops.reports.files import write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from modelops.pipeline.outcome import GateOutcome


def summary_table(outcome: GateOutcome) -> Table:
    table = Table(title=f"{outcome.candidate.name} v{outcome.candidate.version} → {outcome.environment}")
    table.add_column("gate")
    table.add_column("result")
    table.add_column("reasons")
    for result in outcome.results:
        table.add_row(
            result.gate,
            "[green]passed[/]" if result.passed else "[red]failed[/]",
            "\n".join(escape(reason) for reason in result.reasons) or "—",
        )
    return table


def _pull_request_mode(
    base: str, head: str, out: Path, as_json: bool, record: bool, validated: Path | None, html: bool
) -> None:
    from modelops.config import project_root
    from modelops.pipeline.pr_gate import gate_pull_request
    from modelops.registry import configure
    from modelops.registry.tracking import refuse_registry_in_checkout
    from modelops.reports.pull_request import render_pull_request_report

    root = project_root()
    try:
        refuse_registry_in_checkout(root)  # before MLflow is pointed at anything
        configure(root)
        with steps(enabled=not as_json) as step:
            verdict = gate_pull_request(
                root, base=base, head=head, out=out, step=step, record=record, validated=validated, html=html
            )
    except InputError as error:
        # The pull request's comment and job summary are built from report.md: it must say why.
        write_text_atomic(out / "report.md", f"## ❌ Promotion gate: BLOCKED\n\n{error}\n")
        write_json_atomic(
            out / "verdict.json", {"passed": False, "error": str(error), "reasons": [str(error)]}
        )
        raise fail_input(str(error), as_json=as_json) from None
    report = render_pull_request_report(verdict)
    write_text_atomic(out / "report.md", report)
    summary = verdict.to_dict()
    write_json_atomic(out / "verdict.json", summary)
    if as_json:
        emit_json(summary)
    else:
        console.print(report.split("<details>")[0].rstrip(), highlight=False, markup=False)
        console.print(f"full report: {out / 'report.md'}", highlight=False)
    raise exit_for(verdict.passed)


def gate(
    model: str = typer.Option(None, help="Registered model name (policies/models/<model>.yaml)."),
    version: str = typer.Option(None, help="Candidate version number, or an alias such as @challenger."),
    env: str = typer.Option(None, help="Target environment (environments/<env>.yaml)."),
    base: str = typer.Option(None, help="PR mode: the base revision (what runs now)."),
    head: str = typer.Option(None, help="PR mode: the head revision (what the pull request proposes)."),
    champion: str = typer.Option(
        None, help="Champion version or alias to compare with; omit (or 'none') for a first release."
    ),
    out: Path = typer.Option(
        Path("reports"), help="Folder for report.md, verdict.json, model_card.md, drift.html."
    ),
    html: bool = typer.Option(True, help="Render the evidently drift report (slow to import)."),
    as_json: bool = typer.Option(False, "--json", help="Print verdict.json instead of tables."),
    record: bool = typer.Option(
        True,
        help="Log the gate run and tag the version in MLflow. A pull request's check uses --no-record "
        "(read-only credentials); the merge to main records the decision.",
    ),
    validated: Path = typer.Option(
        None,
        help="PR mode: the file `modelops validate --save` wrote. Its result is reused if nothing "
        "validation reads has changed since; otherwise gitops/ is validated again.",
    ),
) -> None:
    """Run every gate with the environment's policy; exit 0 pass, 1 blocked, 2 unusable input.

    With --base and --head, gate every release a pull request changes instead.
    """
    if base or head:
        if not (base and head):
            raise fail_input("--base and --head go together", as_json=as_json)
        # The pull request says which releases, environments and champions: nothing to name here.
        named = [flag for flag, value in (("--model", model), ("--version", version), ("--env", env),
                                          ("--champion", champion)) if value]  # fmt: skip
        if named:
            raise fail_input(f"{named[0]} does not go with --base and --head", as_json=as_json)
        _pull_request_mode(base, head, out, as_json, record, validated, html)
    if validated is not None:
        raise fail_input("--validated goes with --base and --head (the pull-request mode)", as_json=as_json)
    if not (model and version and env):
        raise fail_input("name --model, --version and --env (or --base and --head)", as_json=as_json)
    from modelops.config import project_root
    from modelops.pipeline.gate_run import GateRequest, run_gate
    from modelops.pipeline.publish import publish
    from modelops.registry import configure

    root = project_root()
    request = GateRequest(
        model=model,
        candidate=version,
        environment=env,
        champion=None if champion in (None, "", "none") else champion,
        root=root,
    )
    try:
        configure(root)
        with steps(enabled=not as_json) as step:
            outcome = run_gate(request, step=step, drift_html=out / "drift.html" if html else None)
            step("recording the decision")
            published = publish(outcome, out, record=record)
    except InputError as error:
        # Any error fails the gate: leave a verdict that says so, for CI and for people.
        write_json_atomic(
            out / "verdict.json", {"passed": False, "error": str(error), "reasons": [str(error)]}
        )
        raise fail_input(str(error), as_json=as_json) from None
    if as_json:
        emit_json({**outcome.verdict(), "gate_run_id": published.run_id})
        raise exit_for(outcome.passed)
    console.print(summary_table(outcome))
    verdict = "[bold green]PASSED[/]" if outcome.passed else "[bold red]BLOCKED[/]"
    console.print(f"{verdict} {model} v{outcome.candidate.version} for {env}; evidence in {out}/")
    logged = f"gate run {published.run_id} logged" if published.run_id else "not recorded in the registry"
    errors.print(f"{logged}; report {published.report}", highlight=False)
    raise exit_for(outcome.passed)
