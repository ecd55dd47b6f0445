"""`python -m modelops.bench.monitor_job --rows N`: the monitor's aggregation of a window of logged
payloads against evidently's `DataDriftPreset` on the same window.

N logged rows of the benchmark's synthetic frames (20 numeric + 5 text columns, the designed drift)
are written once in the payload sink's layout (one hour's partition, files of at most 1M rows),
beside a 100,000-row reference. Then, each in a fresh process timed by `run_process` (wall, CPU,
peak memory): the monitor's own `measure_release` over every file, streaming batches into counts
and judging each column with the gate's `drift_from_counts`; and evidently's `Report([DataDriftPreset()])`
with defaults on the window read into pandas, on at most --evidently-rows rows (its time and memory
grow past what a 2-core machine holds well before 10M rows). The target: 10M rows in under 20 s
with peak memory under 1 GiB. Figures are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from modelops.bench.data import expected_drifted
from modelops.bench.timing import ProcessRun, run_process

FILE_ROWS = 1_000_000
ROW_GROUP_ROWS = 131_072
REFERENCE_ROWS = 100_000
MODEL = "bench-model"
AT = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


def _write(folder: Path, rows: int, seed: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from modelops.bench.data import drift_frame
    from modelops.payloads import layout

    drift_frame(REFERENCE_ROWS, seed, current=False).to_parquet(folder / "reference.parquet")
    partition = folder / "payloads" / layout.partition_folder(model=MODEL, release="stable", at=AT)
    partition.mkdir(parents=True)
    written = 0
    while written < rows:
        size = min(FILE_ROWS, rows - written)
        table = pa.Table.from_pandas(
            drift_frame(size, seed + 1 + written, current=True), preserve_index=False
        )
        rng = np.random.default_rng(written)
        metadata = {
            layout.REQUEST_ID: pa.array(np.char.add("r", np.arange(written, written + size).astype(str))),
            layout.ROW: pa.array(np.zeros(size, dtype=np.int32)),
            layout.RECEIVED_AT: pa.array(np.full(size, np.datetime64(AT.replace(tzinfo=None), "ms"))).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            layout.MODEL_VERSION: pa.array(["1"] * size),
            layout.INFERENCE_SERVICE: pa.array([MODEL] * size),
            layout.output_column("predict_proba", 1): pa.array(rng.beta(2, 5, size)),
        }
        for name, column in metadata.items():
            table = table.append_column(name, column)
        # Row groups of 128k rows: a reader decodes one group at a time, so they bound its memory.
        pq.write_table(table, partition / f"part-{written:012d}.parquet", row_group_size=ROW_GROUP_ROWS)
        written += size


def _monitor_side(folder: Path) -> dict[str, object]:
    import numpy as np
    import pandas as pd

    from modelops.config import load_environment, load_model_policy
    from modelops.monitoring.job import measure_release
    from modelops.monitoring.payload_store import open_store
    from modelops.monitoring.reference import Reference
    from modelops.monitoring.releases import LiveRelease
    from modelops.monitoring.window import Window

    reference = pd.read_parquet(folder / "reference.parquet")
    scores = np.random.default_rng(0).beta(2, 5, len(reference))
    result = measure_release(
        LiveRelease("stable", "1"),
        Reference("1", reference, scores, scores >= 0.5),
        store=open_store(str(folder / "payloads")),
        model=MODEL,
        window=Window(AT - timedelta(minutes=30), AT + timedelta(minutes=30)),
        policy=load_environment("prod").promotion,
        model_policy=load_model_policy("credit-risk"),
        labels=None,
        shadow=None,
    )
    return {"rows": result.rows, "drifted": result.drifted}


def _evidently_side(folder: Path, rows: int) -> dict[str, object]:
    import pandas as pd
    import pyarrow.dataset as ds
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference = pd.read_parquet(folder / "reference.parquet")
    window = ds.dataset(folder / "payloads", format="parquet").head(rows, columns=list(reference.columns))
    snapshot = Report([DataDriftPreset()]).run(current_data=window.to_pandas(), reference_data=reference)
    return {"rows": window.num_rows, "metrics": len(snapshot.dict()["metrics"])}


def _child(side: str, folder: Path, rows: int, out: Path) -> None:
    result = _monitor_side(folder) if side == "monitor" else _evidently_side(folder, rows)
    out.write_text(json.dumps(result))


def _run(side: str, folder: Path, rows: int) -> tuple[ProcessRun, dict[str, Any]]:
    out = folder / f"{side}.json"
    command = [sys.executable, "-m", "modelops.bench.monitor_job", "--child", side, "--folder", str(folder)]
    run = run_process([*command, "--rows", str(rows), "--out", str(out)], show_stderr=True)
    return run, json.loads(out.read_text()) if run.exit_code == 0 else {}


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.monitor_job", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="logged rows in the window")
    parser.add_argument(
        "--evidently-rows", type=int, default=100_000, help="rows of the window evidently gets"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=["monitor", "evidently"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.folder, args.rows, args.out)
        return 0
    console = Console()
    with tempfile.TemporaryDirectory(prefix="modelops-bench-monitor-") as scratch:
        folder = Path(scratch)
        console.print(
            f"writing {args.rows:,} logged rows x 25 columns and a {REFERENCE_ROWS:,}-row reference"
        )
        _write(folder, args.rows, args.seed)
        monitor, monitored = _run("monitor", folder, args.rows)
        evidently_rows = min(args.rows, args.evidently_rows)
        evidently, _ = _run("evidently", folder, evidently_rows)
    table = Table(
        title=f"A window of {args.rows:,} logged rows x 25 columns against a {REFERENCE_ROWS:,}-row reference"
    )
    for heading in ("side", "rows", "wall s", "CPU s", "peak MiB", "rows/s (wall)", "exit"):
        table.add_column(heading)
    for name, run, rows in (
        ("monitor: counts batch by batch + the gate's drift_from_counts", monitor, args.rows),
        ("evidently DataDriftPreset (defaults), window in pandas", evidently, evidently_rows),
    ):
        table.add_row(
            name,
            f"{rows:,}",
            f"{run.wall_s:.2f}",
            f"{run.cpu_s:.2f}",
            f"{run.max_rss_kib / 1024:.0f}",
            f"{rows / run.wall_s:,.0f}",
            str(run.exit_code),
        )
    console.print(table)
    designed = ", ".join(sorted(expected_drifted()))
    console.print(f"monitor: drifted columns {monitored.get('drifted')} (designed: {designed})")
    agrees = set(monitored.get("drifted") or []) == expected_drifted()
    return 0 if monitor.exit_code == 0 and evidently.exit_code == 0 and agrees else 1


if __name__ == "__main__":
    sys.exit(main())
