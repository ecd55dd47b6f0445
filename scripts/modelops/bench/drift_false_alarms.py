"""`python -m modelops.bench.drift_false_alarms`: the drift gate's alarms on honest splits.

Every real data set the dependencies ship (`modelops.bench.shipped_data`) is split into random
halves, `--splits` times, and gated with an environment's drift policy. Both halves are samples
of one distribution, so every alarm is a false one. They are counted by what raised them: a
distance (an effect size, which should never fire here), a significance test (which fires on a
share of honest splits equal to its level, by definition), a rise in missing values, or another
finding. `tests/gates/test_drift_false_alarms.py` holds the gate to these figures.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from modelops.config.environment import DriftPolicy

KINDS = ("distance", "test", "missing rise", "other")


def _kind(column: dict) -> str:
    problem = column["problem"] or ""
    if problem.startswith("missing values rose"):
        return "missing rise"
    if problem:
        return "other"
    if column["method"].startswith("not tested"):
        return "untested"  # no values on either side: nothing to judge
    return "test" if column["method"].endswith("p-value") else "distance"


def count_alarms(frame: pd.DataFrame, policy: DriftPolicy, splits: int) -> tuple[Counter[str], Counter[str]]:
    """(judged, alarms) per kind over `splits` random halvings of `frame`."""
    from modelops.bench.shipped_data import random_halves
    from modelops.gates import check_drift

    judged: Counter[str] = Counter()
    alarms: Counter[str] = Counter()
    for seed in range(splits):
        reference, current = random_halves(frame, seed)
        for column in check_drift(reference, current, policy=policy).measured["columns"]:
            kind = _kind(column)
            judged[kind] += kind in ("test", "distance")
            judged["missing rise"] += (
                column["reference_missing_share"] > 0 or column["current_missing_share"] > 0
            )
            alarms[kind] += column["drifted"]
    return judged, alarms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelops.bench.drift_false_alarms", description=__doc__)
    parser.add_argument("--splits", type=int, default=10, help="random halvings per data set")
    parser.add_argument("--environment", default="prod", help="environment whose drift policy applies")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # the data sets' loaders warn about their own formats

    from modelops.bench.shipped_data import shipped_data_sets
    from modelops.config import load_environment

    policy = load_environment(args.environment).promotion.drift
    table = Table(title=f"Alarms on {args.splits} random halvings per data set, {args.environment} policy")
    for header in ("data set", "rows", "columns", *KINDS):
        table.add_column(header, justify="left" if header == "data set" else "right")
    totals_judged: Counter[str] = Counter()
    totals_alarms: Counter[str] = Counter()
    for name, load in shipped_data_sets().items():
        frame = load()
        judged, alarms = count_alarms(frame, policy, args.splits)
        totals_judged.update(judged)
        totals_alarms.update(alarms)
        cells = [f"{alarms[k]}/{judged[k]}" if judged[k] or alarms[k] else "" for k in KINDS[:3]]
        table.add_row(name, f"{len(frame):,}", str(frame.shape[1]), *cells, str(alarms["other"] or ""))
    cells = [f"{totals_alarms[k]}/{totals_judged[k]}" for k in KINDS[:3]]
    table.add_row("all", "", "", *cells, str(totals_alarms["other"]), style="bold")
    Console(width=120).print(table)
    print(
        "cells: alarms / columns judged that way, over all splits; 'missing rise' counts the columns "
        "holding any missing value"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
