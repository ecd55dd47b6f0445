"""One benchmark process: `prepare` writes the data, `gate` / `obvious` time one side.

Run as `python -m modelops.bench.child ROLE --data DIR --out FILE`. Each side imports its
libraries and reads its parquet files before its timer starts, records the peak RSS reached
by then, runs its decisions, and writes the results as JSON for the parent to compare.
Only the standard library is imported at module level, so the import time is the side's own.

Reading parquet into pandas briefly needs far more memory than the frames it returns, so after
loading the child resets its RSS high-water mark (`/proc/self/clear_refs`, Linux): the peak the
parent then reads with `os.wait4` is the peak while deciding, with the data resident.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import time
from pathlib import Path


def _rss_kib() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")  # 5: reset the peak RSS to the current RSS
    except OSError:
        return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelops.bench.child")
    parser.add_argument("role", choices=["prepare", "gate", "obvious"])
    parser.add_argument("--data", type=Path, required=True, help="folder of the parquet files")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the results")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--holdout-rows", type=int, default=200_000)
    parser.add_argument("--evidently-rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=50, help="obvious side: bootstrap resamples")
    parser.add_argument("--environment", default="prod")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _prepare(args: argparse.Namespace) -> dict[str, object]:
    from modelops.bench import data

    started = time.perf_counter()
    sizes = data.Sizes(args.rows, args.holdout_rows, args.evidently_rows, args.seed)
    data.write_all(args.data, sizes)
    return {"seconds": time.perf_counter() - started}


_SIDE_MODULES = {"gate": "modelops.bench.gate_side", "obvious": "modelops.bench.obvious_side"}


def _side(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    # Each role imports only its own side, so its import time is measured alone.
    side = importlib.import_module(_SIDE_MODULES[args.role])
    from modelops.config import load_environment
    from modelops.gates.result import to_jsonable

    import_s = time.perf_counter() - started
    started = time.perf_counter()
    inputs = side.load(args.data)
    policy = load_environment(args.environment).promotion
    load_s = time.perf_counter() - started
    memory = {
        "load_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "loaded_kib": _rss_kib(),
        "peak_reset": _reset_peak_rss(),
    }
    results = side.run(inputs, policy, resamples=args.resamples)
    return to_jsonable({"side": args.role, "import_s": import_s, "load_s": load_s, **memory} | results)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    results = _prepare(args) if args.role == "prepare" else _side(args)
    args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
