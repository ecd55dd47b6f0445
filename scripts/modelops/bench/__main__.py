"""`python -m modelops.bench`: time the gate's decisions against the obvious libraries.

Three child processes run in turn: one writes the synthetic data to parquet in a temporary
folder, then one per side reads it and times its decisions. The parent only spawns, waits
and prints: on Linux a child's ru_maxrss starts from its parent's peak at spawn (exec records
the old address space's high-water mark), so the parent never holds the data itself.
Exit code 0 when every column verdict agrees and the fairness and evaluation numbers match;
the performance targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from modelops.bench.report import SideRun, print_report
from modelops.bench.timing import run_process


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelops.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the reference and current frames"
    )
    parser.add_argument("--holdout-rows", type=int, default=200_000, help="rows of the scored holdout")
    parser.add_argument(
        "--evidently-rows",
        type=int,
        default=100_000,
        help="rows per side given to evidently; its time is scaled by rows / this",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=50,
        help="bootstrap resamples on the scikit-learn side; its resample time is scaled to the policy's",
    )
    parser.add_argument("--environment", default="prod", help="environment whose promotion policy applies")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _run_child(role: str, folder: Path, args: argparse.Namespace) -> SideRun | None:
    out = folder / f"{role}.json"
    command = [sys.executable, "-m", "modelops.bench.child", role, "--data", str(folder), "--out", str(out)]
    for option in ("rows", "holdout_rows", "evidently_rows", "resamples", "environment", "seed"):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    run = run_process(command, show_stdout=True, show_stderr=True)
    if run.exit_code != 0:
        return None
    return SideRun(json.loads(out.read_text(encoding="utf-8")), run.wall_s, run.max_rss_kib, run.cpu_s)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=160)
    console.rule("modelops promotion gate benchmark")
    load_before = os.getloadavg()[0]
    console.print(
        f"Synthetic data (seed {args.seed}): reference and current frames of {args.rows:,} rows "
        f"(20 numeric + 5 string columns), a {args.holdout_rows:,}-row holdout with two sensitive "
        f"features; policies from environments/{args.environment}.yaml."
    )
    with tempfile.TemporaryDirectory(prefix="modelops-bench-") as temporary:
        folder = Path(temporary)
        runs: dict[str, SideRun] = {}
        for role, what in (
            ("prepare", "data generation into parquet"),
            ("gate", "gate side"),
            ("obvious", "obvious side (evidently, fairlearn, scikit-learn)"),
        ):
            console.print(f"[dim]running the {what}...[/]")
            run = _run_child(role, folder, args)
            if run is None:
                console.print(f"[red]the {role} process failed; see its error above[/]")
                return 1
            runs[role] = run
    console.print(
        f"Data generated and written once by its own process in {runs['prepare'].results['seconds']:.1f} s; "
        "not part of either side. Each side reads its parquet files and imports its libraries before "
        "its timer starts. The sides ran one after the other; other processes on the machine were not "
        f"stopped: {os.cpu_count()} CPUs, 1-minute load average {load_before:.2f} when the run began."
    )
    parent_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = print_report(console, runs["gate"], runs["obvious"], parent_rss_kib)
    if outcome.ok:
        console.print("[green]exit 0[/]: every column verdict agrees and the numbers match.")
        return 0
    console.print("[red]exit 1[/]: the two sides disagree (see the tables above).")
    return 1


if __name__ == "__main__":
    sys.exit(main())
