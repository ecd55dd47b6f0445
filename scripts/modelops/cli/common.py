"""What every command shares: consoles, the exit-code contract, JSON output, progress."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from modelops.errors import EXIT_GATE_FAILED, EXIT_INPUT_ERROR, EXIT_PASSED, InputError

if TYPE_CHECKING:
    from modelops.config.environment import PromotionPolicy
    from modelops.gates.result import GateResult

console = Console()
errors = Console(stderr=True)
log = logging.getLogger("modelops")


def fail_input(message: str, *, as_json: bool = False) -> typer.Exit:
    """Report unusable input in one line (and as JSON if asked) and return the exit to raise."""
    if as_json:
        print(json.dumps({"passed": False, "error": message, "reasons": [message]}))
    # escape: a message quoting a file (kustomize's `[path: "x"]`) is text, not rich markup.
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_INPUT_ERROR)


@contextlib.contextmanager
def input_errors(*, as_json: bool = False) -> Iterator[None]:
    try:
        yield
    except InputError as error:
        raise fail_input(str(error), as_json=as_json) from None


def exit_for(passed: bool) -> typer.Exit:
    return typer.Exit(EXIT_PASSED if passed else EXIT_GATE_FAILED)


def emit_json(data: dict[str, Any]) -> None:
    from modelops.gates.result import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(data), indent=2) + "\n")


def environment_policy(env: str, root: Path | None = None) -> PromotionPolicy:
    from modelops.config import load_environment, project_root

    return load_environment(env, root=root or project_root()).promotion


def verdict_line(result: GateResult) -> None:
    if result.passed:
        console.print(f"[bold green]PASSED[/] {result.gate}")
    else:
        console.print(f"[bold red]FAILED[/] {result.gate}")
        for reason in result.reasons:
            console.print(f"  [red]•[/] {escape(reason)}", highlight=False)


def split_columns(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@contextlib.contextmanager
def steps(enabled: bool = True) -> Iterator[Any]:
    """A spinner with elapsed time; yields `step(description)`."""
    # Off a terminal (CI logs, pipes) a spinner only leaves a blank line before the output.
    if not enabled or not errors.is_terminal:
        yield lambda _description: None
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=errors, transient=True
    ) as progress:
        task = progress.add_task("starting", total=None)
        yield lambda description: progress.update(task, description=description)
