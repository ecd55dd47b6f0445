"""The `modelops` command.

The command modules import typer, rich and the standard library at module level and the domain
modules (pandas, scipy, mlflow, scikit-learn, evidently, fairlearn behind them) inside each
command, so `modelops --help` and every command's --help answer without loading the stack.
tests/cli/test_help_imports.py holds every command to that.
"""

from __future__ import annotations

import logging
import os

import typer

from modelops.cli import check, evaluation_set, rollout
from modelops.cli.gate import gate
from modelops.cli.gitops import status, validate
from modelops.cli.monitor import monitor
from modelops.cli.register import register
from modelops.cli.release import promote, rollback
from modelops.cli.rightsize import rightsize
from modelops.cli.train import train

app = typer.Typer(
    name="modelops",
    help="Promote model versions through gated environments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(check.app, name="check")
app.add_typer(evaluation_set.app, name="evaluation-set")
app.command("gate")(gate)
app.command("train")(train)
app.command("register")(register)
app.command("promote")(promote)
app.add_typer(rollout.app, name="rollout")
app.command("rollback")(rollback)
app.command("validate")(validate)
app.command("status")(status)
app.command("monitor")(monitor)
app.command("rightsize")(rightsize)


@app.command("demo")
def demo() -> None:
    """Train, register and gate German Credit models on the embedded registry."""
    from modelops.cli.common import input_errors
    from modelops.demo.run import run_demo

    with input_errors():
        run_demo()


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("MODELOPS_LOG_LEVEL", "WARNING"), format="%(levelname)s %(name)s: %(message)s"
    )
    app()
