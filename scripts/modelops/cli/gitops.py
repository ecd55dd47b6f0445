"""`modelops validate` and `modelops status`: the gitops/ tree as a whole."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from modelops.cli.common import console, errors, exit_for, input_errors, steps


def validate(
    save: Path = typer.Option(
        None,
        help="Also write the result to this JSON file, with a digest of what was read, for "
        "`modelops gate --validated` to reuse.",
    ),
    render_to: Path = typer.Option(
        None,
        help="Also keep each environment's render as <name>.yaml in this folder (created if need be), "
        "for tools that scan rendered manifests, such as checkov in the policy workflow.",
    ),
) -> None:
    """Render every environment (kubectl kustomize), validate schemas and the platform's rules."""
    from modelops.config import project_root
    from modelops.gitops.validation import record as validation_record
    from modelops.gitops.validation.validate import validate as validate_tree

    root = project_root()
    started = time.perf_counter()
    with input_errors(), steps() as step:
        step("rendering and validating gitops/")
        # The digest first: a file edited while validation runs then makes the record stale.
        digest = validation_record.inputs_digest(root) if save else None
        if render_to is not None:
            render_to.mkdir(parents=True, exist_ok=True)
        result = validate_tree(root, render_to=render_to)
        if save and digest:
            validation_record.save(save, result, digest)
    elapsed = time.perf_counter() - started
    for finding in result.findings:
        line = escape(str(finding))
        console.print(f"[red]✗[/] {line}", highlight=False, soft_wrap=True)
    verdict = "[green]valid[/]" if result.passed else f"[red]{len(result.findings)} problem(s)[/]"
    console.print(
        f"gitops/: {result.objects} objects in {len(result.rendered)} renders, {verdict} ({elapsed:.1f} s)"
    )
    raise exit_for(result.passed)


def status(
    model: str = typer.Argument(None, help="Only this model."),
    gates: bool = typer.Option(True, help="Read gate results from the registry (bounded timeouts)."),
) -> None:
    """What runs where: stable and candidate versions and their traffic, per environment."""
    from modelops.config import project_root
    from modelops.gitops.releases.status import gate_results, ladder_order, overlay_rows
    from modelops.gitops.validation.validate import environments
    from modelops.registry import configure

    root = project_root()
    with input_errors():
        envs = environments(root)
        rows = overlay_rows(root, model, ladder_order({e.name: e.promotion.requires for e in envs}))
        verdicts: dict[tuple[str, str], str] = {}
        if gates:
            configure(root)
            verdicts, registry_error = gate_results(rows)
            if registry_error:
                errors.print(
                    f"[yellow]note:[/] the registry could not say every gate ('?'): {escape(registry_error)}",
                    highlight=False, soft_wrap=True,
                )  # fmt: skip
    table = Table(title="Releases in gitops/")
    for header in ("model", "environment", "stable", "candidate", "traffic", "gate"):
        table.add_column(header)
    for row in rows:
        state = row.state
        candidate = f"v{state.candidate.version}" if state.candidate else "—"
        if state.traffic.mirror:
            traffic = f"{state.traffic.stable}% stable, shadow {state.traffic.mirror}%"
        elif state.candidate:
            traffic = f"{state.traffic.stable}/{state.traffic.candidate}"
        else:
            traffic = "100% stable"
        table.add_row(
            row.model,
            row.environment,
            f"v{state.stable.version}",
            candidate,
            traffic,
            verdicts.get((row.model, row.environment), "—"),
        )
    console.print(table)
