"""`python -m modelops.bench.drift_cold_start`: `modelops check drift` from a cold start vs reading the data.

The benchmark's synthetic drift frames (`modelops.bench.data`: 20 numeric + 5 text columns,
1,000,000 rows per side by default) are written to parquet once, and each side runs once
untimed. Then, alternating which goes first, in fresh processes: the command as people run it
(`modelops check drift --reference ... --current ... --env prod`, its table on a pipe), and one
plain read-plus-histogram pass over the same two files (`modelops.bench.read_histogram`: numpy
and pyarrow), reading them as the command does; for reference, the same pass with pyarrow's read
defaults (a string built per row of text) runs too. Each is timed from spawn to exit, so the
command's figure includes starting Python and every import (from bytecode: modelops's is written
first, as any first run writes it). The target is the command within 1.5x the plain pass that
reads as the command does; the ratio of the medians is reported, not asserted, since all share a
machine with whatever else runs on it. Exit code 0 unless one failed: the command must exit 1
here (the designed drift fails prod's drifted share), not 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from modelops.bench.timing import ProcessRun, run_process

TARGET_RATIO = 1.5
EXPECTED_EXIT = 1  # the designed drift: 5 of 25 columns, over prod's allowed share of 0.15


def _timed(command: list[str]) -> ProcessRun:
    # stderr stays visible: an error there explains an unexpected exit code.
    return run_process(command, show_stderr=True)


def _modelops_command() -> list[str]:
    """The installed `modelops` script beside this interpreter, as a shell would run it."""
    script = Path(sys.executable).with_name("modelops")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "modelops"]


def _compile_modelops() -> None:
    """Write modelops's bytecode, as any first run does, unless PYTHONDONTWRITEBYTECODE is set (as
    on CI runners): then every run would compile the project's ~100 modules again, a cost of
    that setting, not of a cold start. Installed dependencies are compiled by `uv sync
    --compile-bytecode` (the Makefile's)."""
    import compileall

    import modelops

    compileall.compile_dir(Path(modelops.__file__).parent, quiet=1)


def _write_data(folder: Path, rows: int, seed: int) -> tuple[Path, Path]:
    from modelops.bench import data

    paths = []
    for side in ("reference", "current"):
        path = folder / f"{side}.parquet"
        data.drift_frame(rows, seed, current=side == "current").to_parquet(path, index=False)
        paths.append(path)
    return paths[0], paths[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.drift_cold_start", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each of the two files")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--environment", default="prod", help="the --env given to the command")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=120)
    console.rule("modelops check drift from a cold start")
    _compile_modelops()
    with tempfile.TemporaryDirectory(prefix="modelops-drift-bench-") as temporary:
        reference, current = _write_data(Path(temporary), args.rows, args.seed)
        files = [str(reference), str(current)]
        command = [
            *_modelops_command(),
            *("check", "drift", "--reference", files[0], "--current", files[1], "--env", args.environment),
        ]
        plain = [sys.executable, "-m", "modelops.bench.read_histogram", *files]
        sides = {"command": command, "plain": plain, "defaults": [*plain, "--defaults"]}
        # One untimed run of each first: "cold" is the process, not the files, which the writing
        # process has just left half-flushed in the page cache.
        os.sync()
        for argv in sides.values():
            _timed(argv)
        load_before = os.getloadavg()[0]
        runs: dict[str, list[ProcessRun]] = {name: [] for name in sides}
        for repeat in range(args.repeats):
            order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
            for name in order:  # alternating which goes first, so a drifting load hits all alike
                runs[name].append(_timed(sides[name]))
    failed = [run.exit_code for run in runs["command"] if run.exit_code != EXPECTED_EXIT]
    failed += [run.exit_code for name in ("plain", "defaults") for run in runs[name] if run.exit_code != 0]
    table = Table(title=f"{args.rows:,} + {args.rows:,} rows x 25 columns, parquet, {args.repeats} runs each")
    for header in ("", "wall (median)", "wall (runs)", "CPU (median)"):
        table.add_column(header, justify="left" if not header else "right")
    medians = {}
    labels = {
        "command": "modelops check drift",
        "plain": "read + histogram pass",
        "defaults": "same, pyarrow's read defaults",
    }
    for name, label in labels.items():
        walls = [run.wall_s for run in runs[name]]
        medians[name] = statistics.median(walls)
        table.add_row(
            label,
            f"{medians[name]:.2f} s",
            ", ".join(f"{wall:.2f}" for wall in walls),
            f"{statistics.median(run.cpu_s for run in runs[name]):.2f} s",
        )
    console.print(table)
    ratio = medians["command"] / medians["plain"]
    verdict = "[green]within[/]" if ratio <= TARGET_RATIO else "[red]over[/]"
    console.print(
        f"ratio {ratio:.2f}x, {verdict} the {TARGET_RATIO}x target "
        f"({medians['command'] / medians['defaults']:.2f}x the pass with pyarrow's read defaults). "
        f"{os.cpu_count()} CPUs, 1-minute load average {load_before:.2f} when the runs began; "
        "other processes were not stopped."
    )
    if failed:
        console.print(f"[red]exit 1[/]: a run exited with {failed} (command: {EXPECTED_EXIT} expected)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
