"""Run the real `modelops` command in-process (same code path as the console script)."""

from __future__ import annotations

from typer.testing import CliRunner

from modelops.cli import app


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])
