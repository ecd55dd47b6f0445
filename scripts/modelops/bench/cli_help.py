"""`python -m modelops.bench.cli_help`: how fast `modelops --help` and every command's --help answer.

Each figure is the median of `--runs` cold processes (a new interpreter each time), timed from
spawn to exit, with the CPU time the process used. Side by side in the same run:

- `python -c pass`: the interpreter's own start, the floor;
- a two-command typer app, its --help and one command's --help: the floor of any typer CLI
  (a command's --help also loads what typer converts parameters with);
- the commands' domain modules imported once (pandas, scipy, pyarrow, jsonschema and the
  platform's gates, registry and gitops code behind them): what every --help paid for before the
  command modules imported them inside the commands;
- `modelops --help` and the --help of every command and subcommand, found by walking the app.

With `--against DIR`, the same commands also run from another source tree (say a checkout of
main's `scripts/`), put first on their PYTHONPATH, in a second column.

The target: every --help under 0.5 s wall. Wall time depends on what else the machine runs, so
the load average is printed; the target is reported, not asserted. Exit code 0 when every --help
exited 0, else 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from modelops.bench.timing import run_process

TARGET_S = 0.5

# Top-level packages --help must not import: each costs from 0.1 s (numpy, jsonschema) to
# several seconds (scipy.stats, scikit-learn, mlflow, evidently) of a cold start.
HEAVY_STACK = frozenset(
    {
        "dalex",
        "evidently",
        "fairlearn",
        "jsonschema",
        "kubernetes_validate",
        "mlflow",
        "numpy",
        "pandas",
        "pulumi",
        "pulumi_aws",
        "pulumi_kubernetes",
        "pulumi_policy",
        "pulumi_random",
        "pyarrow",
        "scipy",
        "sklearn",
        "skops",
    }
)

# What the command modules imported at module level before they imported it inside the commands.
DOMAIN_MODULES = (
    "modelops.config",
    "modelops.data",
    "modelops.gates",
    "modelops.gitops.releases.promotion",
    "modelops.gitops.releases.status",
    "modelops.gitops.validation.record",
    "modelops.gitops.validation.validate",
    "modelops.pipeline.gate_run",
    "modelops.pipeline.publish",
    "modelops.registry",
    "modelops.registry.evaluation_sets",
    "modelops.training",
)


# The smallest typer app with a group of commands, for the floor.
MINIMAL_APP = """
import typer

app = typer.Typer(add_completion=False)


@app.command()
def one(name: str = typer.Option("x", help="A name.")) -> None:
    \"\"\"One command.\"\"\"


@app.command()
def two() -> None:
    \"\"\"Another.\"\"\"


app()
"""


def command_paths(app: typer.Typer) -> list[tuple[str, ...]]:
    """Every command path of `app`, the app itself first (`()`), then groups and their commands."""
    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        paths.append(path)
        if isinstance(command, TyperGroup):
            for name, sub in sorted(command.commands.items()):
                walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


@dataclass(frozen=True)
class Timing:
    wall_s: float  # median
    cpu_s: float  # median, user + system
    failed: bool


def _time(command: list[str], *, runs: int, env: dict[str, str]) -> Timing:
    done = [run_process(command, env=env) for _ in range(runs)]
    return Timing(
        statistics.median(r.wall_s for r in done),
        statistics.median(r.cpu_s for r in done),
        any(r.exit_code != 0 for r in done),
    )


def _modelops() -> list[str]:
    """The console script installed beside this interpreter, as people run it; else `-m modelops`."""
    script = Path(sys.executable).with_name("modelops")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "modelops"]


def _env(source: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(source), env.get("PYTHONPATH")) if p)
    return env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.cli_help", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=5, help="cold processes per figure (the median is shown)")
    parser.add_argument(
        "--against",
        type=Path,
        help="also run the commands from this source tree (e.g. another checkout's scripts/)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: at least 1")
    from modelops.cli import app

    console = Console() if Console().is_terminal else Console(width=160)
    console.rule("modelops --help: cold-process start")
    console.print(
        f"Median of {args.runs} runs each; {os.cpu_count()} CPUs, 1-minute load average "
        f"{os.getloadavg()[0]:.2f} when the run began. CPU is user + system time of the process."
    )
    python = [sys.executable, "-c"]
    floor = _time([*python, "pass"], runs=args.runs, env=_env())
    stack = _time([*python, "import " + ", ".join(DOMAIN_MODULES)], runs=args.runs, env=_env())
    references = (
        ("python -c pass", floor),
        ("a minimal typer app: --help", _time([*python, MINIMAL_APP, "--help"], runs=args.runs, env=_env())),
        (
            "a minimal typer app: one --help",
            _time([*python, MINIMAL_APP, "one", "--help"], runs=args.runs, env=_env()),
        ),
        ("the commands' domain modules, imported once", stack),
    )

    table = Table(title=f"Wall and CPU seconds (target: every --help under {TARGET_S} s wall)")
    table.add_column("process")
    table.add_column("wall s", justify="right")
    table.add_column("CPU s", justify="right")
    table.add_column("÷ domain import", justify="right")
    if args.against:
        table.add_column(f"wall s from {args.against}", justify="right")
        table.add_column("that ÷ this", justify="right")
    table.add_column(f"< {TARGET_S} s", justify="center")
    for label, timing in references:
        cells = [f"{timing.wall_s:.3f}", f"{timing.cpu_s:.3f}", f"{timing.wall_s / stack.wall_s:.2f}"]
        table.add_row(f"[dim]{label}[/]", *cells, *(["", ""] if args.against else []), "")
    table.add_section()

    failures, missed = [], []
    for path in command_paths(app):
        words = [*path, "--help"]
        timing = _time([*_modelops(), *words], runs=args.runs, env=_env())
        name = " ".join(["modelops", *words])
        if timing.failed:
            failures.append(name)
        met = timing.wall_s < TARGET_S
        if not met:
            missed.append(f"{name} (CPU {timing.cpu_s:.2f} s)")
        cells = [f"{timing.wall_s:.3f}", f"{timing.cpu_s:.3f}", f"{timing.wall_s / stack.wall_s:.2f}"]
        if args.against:
            before = _time([*_modelops(), *words], runs=args.runs, env=_env(args.against))
            if before.failed:
                cells += ["failed", ""]
            else:
                cells += [f"{before.wall_s:.3f}", f"{before.wall_s / timing.wall_s:.1f}x"]
        verdict = "[red]exit ≠ 0[/]" if timing.failed else "[green]yes[/]" if met else "[red]no[/]"
        table.add_row(name, *cells, verdict)
    console.print(table)

    if missed:
        # Wall time well above CPU time means the process waited for a CPU: the machine was busy.
        console.print(f"[yellow]over {TARGET_S} s wall here:[/] {', '.join(missed)}")
    else:
        console.print(f"[green]every --help answered under {TARGET_S} s[/] (median wall time).")
    if failures:
        console.print(f"[red]exit 1[/]: these did not exit 0: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
